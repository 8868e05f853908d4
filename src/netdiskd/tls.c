/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/dhm.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "conf.h"
#include "key.h"
#include "tls.h"
#include "tls_io.h"
#include "util.h"

/* The PSK file: its longest line, its most entries. */
#define TLS_PSK_LINE_MAX	(TLS_PSK_ID_MAX + 2 * TLS_PSK_KEY_MAX + 8)
#define TLS_PSK_MAX		4096

/* RFC 7919's group, which GnuTLS asks for, rather than mbedTLS's default. */
static const unsigned char dhm_p[] = MBEDTLS_DHM_RFC7919_FFDHE2048_P_BIN;
static const unsigned char dhm_g[] = MBEDTLS_DHM_RFC7919_FFDHE2048_G_BIN;

struct tls_psk {
	char id[TLS_PSK_ID_MAX + 1];
	size_t idlen;
	uint8_t key[TLS_PSK_KEY_MAX];
	size_t keylen;
};

struct tls_creds {
	atomic_int refs;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert, ca;
	mbedtls_pk_context key;
	struct tls_psk *psk;
	size_t npsk;
	int suites[TLS_IO_NSUITES_PSK + TLS_IO_NSUITES_X509 + 1];
};

struct tls_conn {
	struct tls_io io;		/* first: the PSK callback's way back */
	struct tls_creds *creds;
	char identity[TLS_PSK_ID_MAX + 1];
};

/* Loading. */

static int
tls_err(char *err, size_t errlen, const char *what, const char *path, int r)
{
	char msg[128];

	mbedtls_strerror(r, msg, sizeof(msg));
	snprintf(err, errlen, "%s \"%s\": %s", what, path, msg);
	return -1;
}

/* One "identity:hexkey" line of the PSK file into p: 0, or -1 (err). */
static int
tls_psk_line(char *line, struct tls_psk *p, const char *path, int lineno,
    char *err, size_t errlen)
{
	char *colon = strchr(line, ':');
	size_t hexlen;

	if (colon == NULL || colon == line ||
	    (size_t)(colon - line) > TLS_PSK_ID_MAX) {
		snprintf(err, errlen, "nbd_tls_psk \"%s\": line %d: not "
		    "IDENTITY:HEXKEY (an identity of 1 to %d bytes)", path,
		    lineno, TLS_PSK_ID_MAX);
		return -1;
	}
	p->idlen = (size_t)(colon - line);
	memcpy(p->id, line, p->idlen);
	p->id[p->idlen] = '\0';
	hexlen = strlen(colon + 1);
	if (hexlen == 0 || hexlen % 2 != 0 || hexlen / 2 > TLS_PSK_KEY_MAX ||
	    key_parse_hex_len(colon + 1, p->key, hexlen / 2) == -1) {
		snprintf(err, errlen, "nbd_tls_psk \"%s\": line %d: identity "
		    "\"%s\": the key is not 1 to %d bytes in hexadecimal "
		    "(psktool -u %s -p FILE makes one)", path, lineno, p->id,
		    TLS_PSK_KEY_MAX, p->id);
		return -1;
	}
	p->keylen = hexlen / 2;
	return 0;
}

static int
tls_psk_load(struct tls_creds *c, const char *path, char *err, size_t errlen)
{
	char line[TLS_PSK_LINE_MAX + 2];
	int lineno = 0, r = 0;
	size_t len;
	FILE *f;

	if ((f = tls_io_open_secret("nbd_tls_psk", path, err, errlen)) == NULL)
		return -1;
	if ((c->psk = calloc(TLS_PSK_MAX, sizeof(*c->psk))) == NULL) {
		fclose(f);
		snprintf(err, errlen, "nbd_tls_psk: out of memory");
		return -1;
	}
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(f)) {
			snprintf(err, errlen, "nbd_tls_psk \"%s\": line %d is "
			    "too long", path, lineno);
			r = -1;
		} else if ((line[len] = '\0', len == 0 || line[0] == '#'))
			continue;
		else if (c->npsk == TLS_PSK_MAX) {
			snprintf(err, errlen, "nbd_tls_psk \"%s\": more than "
			    "%d keys", path, TLS_PSK_MAX);
			r = -1;
		} else
			r = tls_psk_line(line, &c->psk[c->npsk++], path,
			    lineno, err, errlen);
	}
	mbedtls_platform_zeroize(line, sizeof(line));
	fclose(f);
	if (r == 0 && c->npsk == 0) {
		snprintf(err, errlen, "nbd_tls_psk \"%s\": no keys", path);
		r = -1;
	}
	return r;
}

/*
 * mbedTLS's PSK callback.  An unknown identity gets a random key, so
 * that it fails the way a wrong key does, at the client's Finished.
 */
static int
tls_psk_cb(void *arg, mbedtls_ssl_context *ssl, const unsigned char *id,
    size_t idlen)
{
	struct tls_creds *c = arg;
	struct tls_conn *tc = (struct tls_conn *)(void *)ssl;
	uint8_t dummy[TLS_PSK_KEY_MAX];
	size_t i;
	int r;

	for (i = 0; i < c->npsk; i++)
		if (c->psk[i].idlen == idlen &&
		    memcmp(c->psk[i].id, id, idlen) == 0) {
			memcpy(tc->identity, c->psk[i].id, idlen + 1);
			return mbedtls_ssl_set_hs_psk(ssl, c->psk[i].key,
			    c->psk[i].keylen);
		}
	tc->identity[0] = '\0';
	if (mbedtls_ctr_drbg_random(&c->drbg, dummy, sizeof(dummy)) != 0)
		return -1;
	r = mbedtls_ssl_set_hs_psk(ssl, dummy, sizeof(dummy));
	mbedtls_platform_zeroize(dummy, sizeof(dummy));
	return r;
}

static int
tls_x509_load(struct tls_creds *c, const struct conf *conf, char *err,
    size_t errlen)
{
	FILE *f;
	int r;

	/* The key file must be private; mbedTLS reads it itself. */
	if ((f = tls_io_open_secret("nbd_tls_key", conf->nbd_tls_key, err,
	    errlen)) == NULL)
		return -1;
	fclose(f);
	if ((r = mbedtls_x509_crt_parse_file(&c->cert, conf->nbd_tls_cert)))
		return tls_err(err, errlen, "nbd_tls_cert", conf->nbd_tls_cert,
		    r);
	if ((r = mbedtls_pk_parse_keyfile(&c->key, conf->nbd_tls_key, NULL)))
		return tls_err(err, errlen, "nbd_tls_key", conf->nbd_tls_key,
		    r);
	if ((r = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key)))
		return tls_err(err, errlen, "nbd_tls_key", conf->nbd_tls_key,
		    r);
	if (conf->nbd_tls_ca == NULL)
		return 0;
	if ((r = mbedtls_x509_crt_parse_file(&c->ca, conf->nbd_tls_ca)))
		return tls_err(err, errlen, "nbd_tls_ca", conf->nbd_tls_ca, r);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	return 0;
}

/* TLS 1.2 only, no renegotiation, the groups and suites. */
static int
tls_conf(struct tls_creds *c, const struct conf *conf, char *err,
    size_t errlen)
{
	static const char pers[] = "netdiskd nbd tls";
	size_t n = 0;
	int r;

	if ((r = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func,
	    &c->entropy, (const unsigned char *)pers, sizeof(pers) - 1)) ||
	    (r = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) ||
	    (r = mbedtls_ssl_conf_dh_param_bin(&c->conf, dhm_p, sizeof(dhm_p),
	    dhm_g, sizeof(dhm_g))))
		return tls_err(err, errlen, "TLS", "setup", r);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_renegotiation(&c->conf,
	    MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_curves(&c->conf, tls_io_curves);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	if (conf->nbd_tls_psk != NULL) {
		if (tls_psk_load(c, conf->nbd_tls_psk, err, errlen) == -1)
			return -1;
		mbedtls_ssl_conf_psk_cb(&c->conf, tls_psk_cb, c);
		memcpy(c->suites, tls_io_suites_psk,
		    TLS_IO_NSUITES_PSK * sizeof(int));
		n = TLS_IO_NSUITES_PSK;
	}
	if (conf->nbd_tls_cert != NULL) {
		if (tls_x509_load(c, conf, err, errlen) == -1)
			return -1;
		memcpy(c->suites + n, tls_io_suites_x509,
		    TLS_IO_NSUITES_X509 * sizeof(int));
		n += TLS_IO_NSUITES_X509;
	}
	c->suites[n] = 0;
	mbedtls_ssl_conf_ciphersuites(&c->conf, c->suites);
	return 0;
}

struct tls_creds *
tls_creds_load(const struct conf *conf, char *err, size_t errlen)
{
	struct tls_creds *c;

	err[0] = '\0';
	if (conf->nbd_tls_psk == NULL && conf->nbd_tls_cert == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "TLS: out of memory");
		return NULL;
	}
	atomic_init(&c->refs, 1);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_pk_init(&c->key);
	if (tls_conf(c, conf, err, errlen) == -1) {
		tls_creds_put(c);
		return NULL;
	}
	return c;
}

struct tls_creds *
tls_creds_ref(struct tls_creds *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
tls_creds_put(struct tls_creds *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	if (c->psk != NULL)
		mbedtls_platform_zeroize(c->psk, TLS_PSK_MAX * sizeof(*c->psk));
	free(c->psk);
	free(c);
}

/* The common name of the client's certificate, if it showed one. */
static void
tls_peer_cn(struct tls_conn *tc)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&tc->io.ssl);
	const mbedtls_x509_name *n;
	size_t len;

	if (crt == NULL)
		return;
	for (n = &crt->subject; n != NULL; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			len = n->val.len < TLS_PSK_ID_MAX ? n->val.len :
			    TLS_PSK_ID_MAX;
			memcpy(tc->identity, n->val.p, len);
			tc->identity[len] = '\0';
			return;
		}
}

static const char *
tls_why(int r)
{
	switch (r) {
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return "timed out";
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return "the client closed the connection";
	case MBEDTLS_ERR_SSL_BAD_HS_FINISHED:
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return "wrong key, unknown identity or tampered";
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
	case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
		return "no valid client certificate";
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		return "the client certificate is not one of nbd_tls_ca's";
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
		return "no common TLS version or cipher suite (TLS 1.2 with "
		    "AES-GCM or ChaCha20-Poly1305)";
	}
	return NULL;
}

struct tls_conn *
tls_accept(struct tls_creds *c, int fd, int64_t deadline, char *why,
    size_t whylen)
{
	struct tls_conn *tc;
	char msg[128];
	int r;

	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		snprintf(why, whylen, "TLS: out of memory");
		return NULL;
	}
	tls_io_init(&tc->io);
	tc->creds = tls_creds_ref(c);
	if ((r = tls_io_setup(&tc->io, &c->conf)) == 0)
		r = tls_io_handshake(&tc->io, fd, deadline);
	if (r != 0) {
		if (tls_why(r) == NULL)
			mbedtls_strerror(r, msg, sizeof(msg));
		snprintf(why, whylen, "TLS handshake: %s", tls_why(r) != NULL ?
		    tls_why(r) : msg);
		tls_close(tc);
		return NULL;
	}
	if (tc->identity[0] == '\0')
		tls_peer_cn(tc);
	return tc;
}

const char *
tls_identity(const struct tls_conn *tc)
{
	return tc->identity;
}

const char *
tls_suite(const struct tls_conn *tc)
{
	return tc->io.suite;
}

ssize_t
tls_read(struct tls_conn *tc, void *buf, size_t len, int64_t deadline)
{
	return tls_io_read(&tc->io, buf, len, deadline);
}

int
tls_writev(struct tls_conn *tc, const struct iovec *iov, int iovcnt,
    int64_t deadline)
{
	return tls_io_writev(&tc->io, iov, iovcnt, deadline);
}

void
tls_close(struct tls_conn *tc)
{
	if (tc == NULL)
		return;
	tls_io_free(&tc->io);
	tls_creds_put(tc->creds);
	mbedtls_platform_zeroize(tc, sizeof(*tc));
	free(tc);
}
