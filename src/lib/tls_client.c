/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "key.h"
#include "tls_client.h"
#include "tls_io.h"
#include "util.h"

#define TLS_LINE_MAX		(TLS_CLIENT_ID_MAX + 2 * TLS_CLIENT_KEY_MAX + 8)
#define TLS_ALERT_BAD_MAC	20	/* bad_record_mac */
#define TLS_ALERT_DECRYPT	51	/* decrypt_error */

struct tls_client {
	struct tls_io io;		/* first */
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca, cert;
	mbedtls_pk_context key;
	int psk;			/* PSK, else X.509 */
	int64_t deadline;		/* of the transfers, -1: none */
	uint8_t ip[16];			/* the host, if an address */
	size_t iplen;
};

/* Loading. */

/* The key of line, "identity:hexkey", if its identity is id: 1, 0, -1. */
static int
psk_line(const char *line, const char *id, uint8_t *key, size_t *keylen)
{
	const char *colon = strchr(line, ':');
	size_t hexlen;

	if (colon == NULL || (size_t)(colon - line) != strlen(id) ||
	    memcmp(line, id, strlen(id)) != 0)
		return 0;
	hexlen = strlen(colon + 1);
	if (hexlen == 0 || hexlen % 2 != 0 || hexlen / 2 > TLS_CLIENT_KEY_MAX ||
	    key_parse_hex_len(colon + 1, key, hexlen / 2) == -1)
		return -1;
	*keylen = hexlen / 2;
	return 1;
}

/* The key of identity id from the PSK file: 0, or -1 (err). */
static int
psk_find(FILE *f, const char *path, const char *id, uint8_t *key,
    size_t *keylen, char *err, size_t errlen)
{
	char line[TLS_LINE_MAX + 2];
	int lineno = 0, r = 0;
	size_t len;

	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if ((r = psk_line(line, id, key, keylen)) == -1)
			snprintf(err, errlen, "tls-psk-file \"%s\": line %d: "
			    "identity \"%s\": the key is not 1 to %d bytes in "
			    "hexadecimal", path, lineno, id, TLS_CLIENT_KEY_MAX);
	}
	mbedtls_platform_zeroize(line, sizeof(line));
	if (r == 0)
		snprintf(err, errlen, "tls-psk-file \"%s\": no key for identity "
		    "\"%s\"", path, id);
	return r == 1 ? 0 : -1;
}

static int
load_psk(struct tls_client *t, const struct tls_client_opts *o, char *err,
    size_t errlen)
{
	uint8_t key[TLS_CLIENT_KEY_MAX];
	char iobuf[4096];		/* stdio's copy of the file, wiped */
	size_t keylen = 0;
	FILE *f;
	int r;

	if (strlen(o->identity) == 0 ||
	    strlen(o->identity) > TLS_CLIENT_ID_MAX) {
		snprintf(err, errlen, "PSK identity \"%s\": not 1 to %d bytes",
		    o->identity, TLS_CLIENT_ID_MAX);
		return -1;
	}
	if ((f = tls_io_open_secret("tls-psk-file", o->psk_file, err,
	    errlen)) == NULL)
		return -1;
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	r = psk_find(f, o->psk_file, o->identity, key, &keylen, err, errlen);
	fclose(f);
	mbedtls_platform_zeroize(iobuf, sizeof(iobuf));
	if (r == 0 && (r = mbedtls_ssl_conf_psk(&t->conf, key, keylen,
	    (const unsigned char *)o->identity, strlen(o->identity))) != 0) {
		snprintf(err, errlen, "tls-psk-file \"%s\": cannot use the key "
		    "(-0x%04x)", o->psk_file, (unsigned int)-r);
		r = -1;
	}
	mbedtls_platform_zeroize(key, sizeof(key));
	t->psk = 1;
	return r;
}

static int
pem_err(char *err, size_t errlen, const char *path, int r)
{
	char msg[128];

	mbedtls_strerror(r, msg, sizeof(msg));
	snprintf(err, errlen, "tls-certificates: \"%s\": %s", path, msg);
	return -1;
}

/* DIR/ca-cert.pem, and DIR/client-cert.pem with client-key.pem if there. */
static int
load_x509(struct tls_client *t, const char *dir, char *err, size_t errlen)
{
	char ca[4096], cert[4096], key[4096];
	FILE *f;
	int r;

	snprintf(ca, sizeof(ca), "%s/ca-cert.pem", dir);
	snprintf(cert, sizeof(cert), "%s/client-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/client-key.pem", dir);
	if (access(ca, R_OK) == -1) {
		snprintf(err, errlen, "tls-certificates: \"%s\": %s", ca,
		    strerror(errno));
		return -1;
	}
	if ((r = mbedtls_x509_crt_parse_file(&t->ca, ca)) != 0)
		return pem_err(err, errlen, ca, r);
	mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if (access(cert, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((f = tls_io_open_secret("tls-certificates: client key", key, err,
	    errlen)) == NULL)
		return -1;
	fclose(f);
	if ((r = mbedtls_x509_crt_parse_file(&t->cert, cert)) != 0)
		return pem_err(err, errlen, cert, r);
	if ((r = mbedtls_pk_parse_keyfile(&t->key, key, NULL)) != 0)
		return pem_err(err, errlen, key, r);
	if ((r = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key)) != 0)
		return pem_err(err, errlen, key, r);
	return 0;
}

/* TLS 1.2 only, no renegotiation, the groups and suites. */
static int
tls_conf(struct tls_client *t, const struct tls_client_opts *o, char *err,
    size_t errlen)
{
	static const char pers[] = "netdiskctl nbds";
	int r;

	if ((r = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func,
	    &t->entropy, (const unsigned char *)pers, sizeof(pers) - 1)) ||
	    (r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT))) {
		snprintf(err, errlen, "TLS setup failed (-0x%04x)",
		    (unsigned int)-r);
		return -1;
	}
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_renegotiation(&t->conf,
	    MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_curves(&t->conf, tls_io_curves);
	if (o->psk_file != NULL) {
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
		mbedtls_ssl_conf_ciphersuites(&t->conf, tls_io_suites_psk);
		return load_psk(t, o, err, errlen);
	}
	mbedtls_ssl_conf_ciphersuites(&t->conf, tls_io_suites_x509);
	return load_x509(t, o->cert_dir, err, errlen);
}

/* The host as the certificate must name it: a DNS name, or an address. */
static int
tls_host(struct tls_client *t, const char *host, char *err, size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	int r = 0;

	if (inet_pton(AF_INET, host, &a4) == 1) {
		memcpy(t->ip, &a4, t->iplen = 4);
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		memcpy(t->ip, &a6, t->iplen = 16);
	} else if ((r = mbedtls_ssl_set_hostname(&t->io.ssl, host)) != 0) {
		snprintf(err, errlen, "host name \"%s\": too long for TLS",
		    host);
		return -1;
	}
	return 0;
}

/*
 * mbedTLS 2.28 matches DNS names only: an address is looked for in the
 * iPAddress entries of the subjectAltName extension here.
 */
static int
san_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip, size_t iplen)
{
	unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
	unsigned char *ext_end, *san_end;
	mbedtls_x509_buf oid;
	size_t len;
	int crit;

	if (p == NULL || mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return 0;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &len,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
			return 0;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len,
		    MBEDTLS_ASN1_OID) != 0)
			return 0;
		oid.p = p;
		p += oid.len;
		(void)mbedtls_asn1_get_bool(&p, ext_end, &crit);
		if (mbedtls_asn1_get_tag(&p, ext_end, &len,
		    MBEDTLS_ASN1_OCTET_STRING) != 0)
			return 0;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) != 0) {
			p = ext_end;
			continue;
		}
		if (mbedtls_asn1_get_tag(&p, ext_end, &len,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
			return 0;
		for (san_end = p + len; p < san_end; p += len) {
			unsigned char tag = *p++;

			if (mbedtls_asn1_get_len(&p, san_end, &len) != 0)
				return 0;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
			    len == iplen && memcmp(p, ip, iplen) == 0)
				return 1;
		}
		return 0;
	}
	return 0;
}

static int
verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_client *t = arg;

	if (depth == 0 && t->iplen > 0 && !san_has_ip(crt, t->ip, t->iplen))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

struct tls_client *
tls_client_new(const struct tls_client_opts *o, char *err, size_t errlen)
{
	struct tls_client *t;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "TLS: out of memory");
		return NULL;
	}
	tls_io_init(&t->io);
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_x509_crt_init(&t->cert);
	mbedtls_pk_init(&t->key);
	t->deadline = -1;
	err[0] = '\0';
	if (tls_conf(t, o, err, errlen) == -1 ||
	    (r = tls_io_setup(&t->io, &t->conf)) != 0 ||
	    (!t->psk && tls_host(t, o->host, err, errlen) == -1)) {
		if (err[0] == '\0')
			snprintf(err, errlen, "TLS setup failed");
		tls_client_free(t);
		return NULL;
	}
	if (!t->psk)
		mbedtls_ssl_set_verify(&t->io.ssl, verify_cb, t);
	return t;
}

void
tls_client_free(struct tls_client *t)
{
	if (t == NULL)
		return;
	tls_io_free(&t->io);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_x509_crt_free(&t->cert);
	mbedtls_pk_free(&t->key);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	mbedtls_platform_zeroize(t, sizeof(*t));
	free(t);
}

/* Why the server's certificate was refused, on one line. */
static void
cert_why(struct tls_client *t, char *err, size_t errlen)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&t->io.ssl);
	char info[512], *p;

	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		snprintf(info, sizeof(info), "it does not name the host");
	else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		snprintf(info, sizeof(info), "not signed by ca-cert.pem");
	else if (mbedtls_x509_crt_verify_info(info, sizeof(info), "",
	    flags) < 0)
		snprintf(info, sizeof(info), "flags 0x%x", (unsigned)flags);
	for (p = info; (p = strchr(p, '\n')) != NULL; )
		*p = p[1] == '\0' ? '\0' : ';';
	snprintf(err, errlen, "TLS handshake failed: bad server certificate "
	    "(%s)", info);
}

/* The handshake's failure r as err and errno; -1. */
static int
handshake_fail(struct tls_client *t, int r, char *err, size_t errlen)
{
	int alert = r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE &&
	    t->io.ssl.in_msg != NULL ? t->io.ssl.in_msg[1] : -1;
	char msg[128];

	errno = EACCES;
	if (r == MBEDTLS_ERR_SSL_TIMEOUT) {
		errno = ETIMEDOUT;
		snprintf(err, errlen, "TLS handshake timed out");
	} else if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		cert_why(t, err, errlen);
	} else if (t->psk && (r == MBEDTLS_ERR_SSL_CONN_EOF ||
	    r == MBEDTLS_ERR_SSL_INVALID_MAC ||
	    r == MBEDTLS_ERR_SSL_BAD_HS_FINISHED ||
	    alert == TLS_ALERT_BAD_MAC || alert == TLS_ALERT_DECRYPT)) {
		snprintf(err, errlen, "TLS handshake failed: wrong key or "
		    "identity");
	} else if (!t->psk && alert >= 0) {
		snprintf(err, errlen, "TLS handshake failed: the server refused "
		    "us (alert %d: a client certificate it does not accept, or "
		    "none)", alert);
	} else {
		errno = EPROTO;
		mbedtls_strerror(r, msg, sizeof(msg));
		snprintf(err, errlen, "TLS handshake failed: %s", msg);
	}
	return -1;
}

int
tls_client_handshake(struct tls_client *t, int fd, int64_t deadline,
    char *err, size_t errlen)
{
	int r;

	if ((r = tls_io_handshake(&t->io, fd, deadline)) != 0)
		return handshake_fail(t, r, err, errlen);
	return 0;
}

const char *
tls_client_suite(const struct tls_client *t)
{
	return t->io.suite;
}

void
tls_client_set_deadline(struct tls_client *t, int64_t deadline)
{
	t->deadline = deadline;
}

ssize_t
tls_client_read(struct tls_client *t, void *buf, size_t len)
{
	return tls_io_read(&t->io, buf, len, t->deadline);
}

int
tls_client_writev(struct tls_client *t, const struct iovec *iov, int iovcnt)
{
	return tls_io_writev(&t->io, iov, iovcnt, t->deadline);
}
