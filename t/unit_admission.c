/* SPDX-License-Identifier: ISC */
/* The handshake caps of netdiskd: in all and per address (src/netdiskd/admission.c). */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "admission.h"
#include "tap.h"

static struct sockaddr_storage
addr(const char *s, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':') == NULL) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, s, &sin->sin_addr);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, s, &sin6->sin6_addr);
	}
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
test_per_address(void)
{
	struct admission *a = admission_new();
	struct sockaddr_storage x = addr("192.0.2.7", 1000);
	struct sockaddr_storage x2 = addr("192.0.2.7", 2000);
	struct sockaddr_storage y = addr("192.0.2.8", 1000);
	int i, n = 0;

	for (i = 0; i < 5; i++)
		n += admission_enter(a, SA(x), 100, 3) == ADMIT_OK;
	ok(n == 3 && admission_count(a, SA(x)) == 3,
	    "3 of 5 connections from one address admitted (cap 3)");
	ok(admission_enter(a, SA(x2), 100, 3) == ADMIT_ADDRESS,
	    "another port of the same address: refused for the address");
	ok(admission_enter(a, SA(y), 100, 3) == ADMIT_OK,
	    "another address: admitted");
	admission_leave(a, SA(x2));
	ok(admission_count(a, SA(x)) == 2 &&
	    admission_enter(a, SA(x), 100, 3) == ADMIT_OK,
	    "a finished handshake frees a place for its address");
	ok(admission_total(a) == 4, "4 handshakes in progress in all");
	for (i = 0; i < 3; i++)
		admission_leave(a, SA(x));
	admission_leave(a, SA(y));
	ok(admission_total(a) == 0 && admission_count(a, SA(x)) == 0,
	    "all left: nothing counted");
	admission_leave(a, SA(y));
	ok(admission_total(a) == 0, "leaving twice counts nothing");
	admission_free(a);
}

static void
test_total(void)
{
	struct admission *a = admission_new();
	struct sockaddr_storage s;
	char buf[32];
	int i, n = 0;

	for (i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.%d", i / 200, i % 200);
		s = addr(buf, 5);
		n += admission_enter(a, SA(s), 256, 1) == ADMIT_OK;
	}
	ok(n == 256 && admission_total(a) == 256,
	    "256 of 300 addresses admitted (max 256)");
	s = addr("10.9.9.9", 5);
	ok(admission_enter(a, SA(s), 256, 1) == ADMIT_TOTAL,
	    "the next one is refused for the total");
	s = addr("10.0.0.0", 6);
	ok(admission_enter(a, SA(s), 256, 1) == ADMIT_ADDRESS,
	    "one from an address at its cap is refused for the address "
	    "first");
	for (i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.%d", i / 200, i % 200);
		s = addr(buf, 5);
		if (admission_count(a, SA(s)) > 0)
			admission_leave(a, SA(s));
	}
	ok(admission_total(a) == 0, "all left");
	admission_free(a);
}

static void
test_families(void)
{
	struct admission *a = admission_new();
	struct sockaddr_storage v4 = addr("192.0.2.7", 1);
	struct sockaddr_storage mapped = addr("::ffff:192.0.2.7", 2);
	struct sockaddr_storage p1 = addr("2001:db8:1:2::1", 3);
	struct sockaddr_storage p2 = addr("2001:db8:1:2:ffff::9", 4);
	struct sockaddr_storage other = addr("2001:db8:1:3::1", 5);

	admission_enter(a, SA(v4), 100, 2);
	ok(admission_count(a, SA(mapped)) == 1,
	    "an IPv4-mapped IPv6 address counts as its IPv4 address");
	admission_enter(a, SA(p1), 100, 2);
	admission_enter(a, SA(p2), 100, 2);
	ok(admission_count(a, SA(p1)) == 2 &&
	    admission_enter(a, SA(p2), 100, 2) == ADMIT_ADDRESS,
	    "IPv6 addresses of one /64 share one count");
	ok(admission_enter(a, SA(other), 100, 2) == ADMIT_OK,
	    "another /64 has its own");
	admission_free(a);
}

int
main(void)
{
	test_per_address();
	test_total();
	test_families();
	return done_testing();
}
