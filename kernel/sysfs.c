// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control interface, after rbd's /sys/bus/rbd/{add,remove}:
 *
 *   echo "address=127.0.0.1 port=26547 export=demo key=HEX" \
 *        > /sys/bus/netdisk/add
 *   echo netdisk0 > /sys/bus/netdisk/remove
 *
 * and the per-device attributes in /sys/block/netdiskN/netdisk/.  A key
 * written to add is wiped from the write buffer and never readable back.
 * An optional name=NAME (netdiskctl's table entry) is kept as the
 * attribute "name" for netdiskctl attach -a and detach -a to match.
 */
#include <crypto/curve25519.h>
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "cache.h"
#include "compat.h"
#include "dev.h"
#include "netdisk.h"
#include "netdisk_sysfs.h"
#include "params.h"
#include "sysfs.h"

/* BUS_ATTR_WO, DEVICE_ATTR_RO, _RW with the names of netdisk_sysfs.h. */
#define ND_BUS_ATTR_WO(_var, _name)					\
	struct bus_attribute bus_attr_##_var = {			\
		.attr = { .name = _name, .mode = 0200 },		\
		.store = _var##_store,					\
	}
#define ND_DEVICE_ATTR_RO(_var, _name)					\
	struct device_attribute dev_attr_##_var = {			\
		.attr = { .name = _name, .mode = 0444 },		\
		.show = _var##_show,					\
	}
#define ND_DEVICE_ATTR_RW(_var, _name)					\
	struct device_attribute dev_attr_##_var = {			\
		.attr = { .name = _name, .mode = 0644 },		\
		.show = _var##_show,					\
		.store = _var##_store,					\
	}

int nd_parse_key(u8 key[ND_KEY_LEN], const char *hex)
{
	if (strlen(hex) != 2 * ND_KEY_LEN || hex2bin(key, hex, ND_KEY_LEN)) {
		memzero_explicit(key, ND_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/*
 * The server's static X25519 public key (protocol v3): 64 hex digits and
 * not a low-order point, whose shared secret with any private key is all
 * zero (checked with a throwaway scalar, one multiplication).  what
 * names the setting in the error messages, which never show the value
 * (in case a private key was pasted there by mistake).
 */
int nd_parse_server_pub(u8 pub[ND_KEY_LEN], const char *hex,
			const char *what)
{
	u8 priv[CURVE25519_KEY_SIZE], out[CURVE25519_KEY_SIZE];
	size_t len = strlen(hex);
	bool ok;

	if (len != 2 * ND_KEY_LEN) {
		pr_err(ND_DRV_NAME ": %s: server_pub has %zu characters, not %u hex digits\n",
		       what, len, 2 * ND_KEY_LEN);
		return -EINVAL;
	}
	if (hex2bin(pub, hex, ND_KEY_LEN)) {
		pr_err(ND_DRV_NAME ": %s: server_pub is not hexadecimal\n",
		       what);
		return -EINVAL;
	}
	curve25519_generate_secret(priv);
	ok = curve25519(out, priv, pub);
	memzero_explicit(priv, sizeof(priv));
	memzero_explicit(out, sizeof(out));
	if (!ok) {
		pr_err(ND_DRV_NAME ": %s: server_pub is not a valid X25519 public key (a low-order point, such as all zeros)\n",
		       what);
		return -EINVAL;
	}
	return 0;
}

/* A numeric IPv4 or IPv6 address ("::1" or "[::1]"); no name lookups. */
int nd_config_set_address(struct nd_config *cfg, const char *addr, u16 port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->addr;
	char buf[ND_ADD_ADDRESS_MAX + 1];
	size_t len = strlen(addr);
	const char *end;

	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	memset(&cfg->addr, 0, sizeof(cfg->addr));
	if (in4_pton(buf, len, (u8 *)&sin->sin_addr.s_addr, -1, &end) &&
	    end == buf + len) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		cfg->addrlen = sizeof(*sin);
		return 0;
	}
	if (in6_pton(buf, len, sin6->sin6_addr.s6_addr, -1, &end) &&
	    end == buf + len) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		cfg->addrlen = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

int nd_config_set_export(struct nd_config *cfg, const char *name)
{
	size_t len = strlen(name);

	if (len < 1 || len > ND_NAME_MAX)
		return -EINVAL;
	memcpy(cfg->export, name, len + 1);
	cfg->export_len = len;
	return 0;
}

/* 1 to ND_DEV_NAME_MAX of [A-Za-z0-9._-], as in netdisktab(5). */
static int set_name(struct nd_config *cfg, const char *name)
{
	if (nd_dev_name_valid(name)) {
		strscpy(cfg->name, name, sizeof(cfg->name));
		return 0;
	}
	pr_err(ND_DRV_NAME ": add: name must have 1 to %u characters of A-Z a-z 0-9 . _ -\n",
	       ND_DEV_NAME_MAX);
	return -EINVAL;
}

struct add_line {
	char *address;
	u16 port;
	char *export;
	bool key_set;
};

static int parse_option(struct nd_config *cfg, struct add_line *al,
			char *name, char *val)
{
	if (!strcmp(name, ND_ADD_ADDRESS)) {
		al->address = val;
		return 0;
	}
	if (!strcmp(name, ND_ADD_PORT))
		return kstrtou16(val, 10, &al->port);
	if (!strcmp(name, ND_ADD_EXPORT)) {
		al->export = val;
		return 0;
	}
	if (!strcmp(name, ND_ADD_KEY)) {
		al->key_set = true;
		return nd_parse_key(cfg->key, val);
	}
	if (!strcmp(name, ND_ADD_CONNS))
		return kstrtouint(val, 10, &cfg->conns);
	if (!strcmp(name, ND_ADD_RO))
		return kstrtobool(val, &cfg->ro);
	if (!strcmp(name, ND_ADD_DEAD_TIMEOUT))
		return kstrtouint(val, 10, &cfg->dead_timeout);
	if (!strcmp(name, ND_ADD_INDEX)) {
		if (kstrtoint(val, 10, &cfg->index) || cfg->index < 0)
			return -EINVAL;
		return 0;
	}
	if (!strcmp(name, ND_ADD_NAME))
		return set_name(cfg, val);
	if (!strcmp(name, ND_ADD_CLIENT_ID)) {
		cfg->client_id_set = true;
		if (strlen(val) != 2 * ND_CLIENT_ID_LEN)
			return -EINVAL;
		return hex2bin(cfg->client_id, val, ND_CLIENT_ID_LEN);
	}
	if (!strcmp(name, ND_ADD_CACHE))
		return nd_parse_size(val, &cfg->cache);
	if (!strcmp(name, ND_ADD_SERVER_PUB)) {
		cfg->server_pub_set = true;
		return nd_parse_server_pub(cfg->server_pub, val, "add");
	}
	pr_err(ND_DRV_NAME ": add: unknown option \"%s\"\n", name);
	return -EINVAL;
}

static int check_config(struct nd_config *cfg, struct add_line *al)
{
	int err;

	if (!al->address || !al->export || !al->key_set) {
		pr_err(ND_DRV_NAME ": add: address, export and key are required\n");
		return -EINVAL;
	}
	err = nd_config_set_address(cfg, al->address, al->port);
	if (err) {
		pr_err(ND_DRV_NAME ": add: address \"%s\" is not a numeric IPv4 or IPv6 address\n",
		       al->address);
		return err;
	}
	err = nd_config_set_export(cfg, al->export);
	if (err) {
		pr_err(ND_DRV_NAME ": add: export name must have 1 to %u bytes\n",
		       ND_NAME_MAX);
		return err;
	}
	if (cfg->conns < 1 || cfg->conns > ND_MAX_CONNS) {
		pr_err(ND_DRV_NAME ": add: conns=%u is not in 1..%u\n",
		       cfg->conns, ND_MAX_CONNS);
		return -EINVAL;
	}
	if (cfg->dead_timeout > ND_MAX_DEAD_TIMEOUT) {
		pr_err(ND_DRV_NAME ": add: dead_timeout=%u is over %u\n",
		       cfg->dead_timeout, ND_MAX_DEAD_TIMEOUT);
		return -EINVAL;
	}
	return nd_cache_check_size(cfg->cache, ND_DRV_NAME ": add");
}

/*
 * Parse "name=value ..." into cfg, which the caller has zeroed.  Defaults
 * come from the module parameters.
 */
int nd_config_parse(struct nd_config *cfg, char *line)
{
	struct add_line al = { .port = ND_DEFAULT_PORT };
	char *tok, *val;
	int err;

	cfg->index = -1;
	cfg->conns = nd_default_conns();
	cfg->dead_timeout = nd_param_dead_timeout;
	cfg->cache = nd_param_cache;
	while ((tok = strsep(&line, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val) {
			pr_err(ND_DRV_NAME ": add: options are name=value\n");
			return -EINVAL;
		}
		*val++ = '\0';
		err = parse_option(cfg, &al, tok, val);
		if (err) {
			pr_err(ND_DRV_NAME ": add: bad value for %s\n", tok);
			return err;
		}
	}
	return check_config(cfg, &al);
}

static ssize_t add_store(ND_BUS_CONST struct bus_type *bus, const char *buf,
			 size_t count)
{
	struct nd_config *cfg;
	struct nd_device *dev;
	char *line;
	int err;

	line = kstrndup(buf, count, GFP_KERNEL);
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	memzero_explicit((void *)buf, count);	/* holds the key */
	if (!line || !cfg) {
		err = -ENOMEM;
		goto out;
	}
	err = nd_config_parse(cfg, line);
	if (err)
		goto out;
	dev = nd_dev_add(cfg);
	if (IS_ERR(dev))
		err = PTR_ERR(dev);
out:
	kfree_sensitive(line);
	kfree_sensitive(cfg);
	return err ? err : count;
}
static ND_BUS_ATTR_WO(add, ND_BUS_ADD);

static ssize_t remove_store(ND_BUS_CONST struct bus_type *bus, const char *buf,
			    size_t count)
{
	char name[DISK_NAME_LEN + sizeof(" " ND_REMOVE_FORCE)];
	char *dev, *word;
	bool force = false;
	int err;

	if (count >= sizeof(name))
		return -EINVAL;
	memcpy(name, buf, count);
	name[count] = '\0';
	dev = strim(name);
	word = strpbrk(dev, " \t");
	if (word) {
		*word++ = '\0';
		if (strcmp(skip_spaces(word), ND_REMOVE_FORCE))
			return -EINVAL;
		force = true;
	}
	err = nd_dev_remove_by_name(dev, force);
	return err ? err : count;
}
static ND_BUS_ATTR_WO(remove, ND_BUS_REMOVE);

static struct attribute *nd_bus_attrs[] = {
	&bus_attr_add.attr,
	&bus_attr_remove.attr,
	NULL,
};
ATTRIBUTE_GROUPS(nd_bus);

static struct bus_type nd_bus_type = {
	.name = ND_SYSFS_NAME,
	.bus_groups = nd_bus_groups,
};

static struct nd_device *to_nd(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static ssize_t server_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%pISpc\n", &to_nd(d)->cfg.addr);
}
static ND_DEVICE_ATTR_RO(server, ND_ATTR_SERVER);

static ssize_t export_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", to_nd(d)->cfg.export);
}
static ND_DEVICE_ATTR_RO(export, ND_ATTR_EXPORT);

static ssize_t name_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_nd(d)->cfg.name);
}
static ND_DEVICE_ATTR_RO(name, ND_ATTR_NAME);

static ssize_t client_id_show(struct device *d, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%*phN\n", ND_CLIENT_ID_LEN,
			  to_nd(d)->cfg.client_id);
}
static ND_DEVICE_ATTR_RO(client_id, ND_ATTR_CLIENT_ID);

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", nd_dev_state(to_nd(d)));
}
static ND_DEVICE_ATTR_RO(state, ND_ATTR_STATE);

static ssize_t connections_show(struct device *d,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_nd(d)->nconns));
}

/* scale: the number of connections, 1..ND_MAX_CONNS, while I/O runs */
static ssize_t connections_store(struct device *d,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct nd_device *dev = to_nd(d);
	unsigned int n;
	int err;

	if (kstrtouint(buf, 10, &n)) {
		pr_err("%s: " ND_ATTR_CONNECTIONS "=%.*s refused: not a number 1..%u\n",
		       dev->name, (int)min_t(size_t, strcspn(buf, "\n"), 16),
		       buf, ND_MAX_CONNS);
		return -EINVAL;
	}
	err = nd_dev_scale(dev, n);
	return err ? err : count;
}
static ND_DEVICE_ATTR_RW(connections, ND_ATTR_CONNECTIONS);

static ssize_t reconnects_show(struct device *d, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&to_nd(d)->reconnects));
}
static ND_DEVICE_ATTR_RO(reconnects, ND_ATTR_RECONNECTS);

static ssize_t dead_timeout_show(struct device *d,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_nd(d)->cfg.dead_timeout);
}
static ND_DEVICE_ATTR_RO(dead_timeout, ND_ATTR_DEAD_TIMEOUT);

static ssize_t export_id_show(struct device *d, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%*phN\n", ND_EXPORT_ID_LEN,
			  to_nd(d)->info.export_id);
}
static ND_DEVICE_ATTR_RO(export_id, ND_ATTR_EXPORT_ID);

/* The pinned server key (public), or an empty line: protocol v2. */
static ssize_t server_pub_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	const struct nd_config *cfg = &to_nd(d)->cfg;

	if (!cfg->server_pub_set)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "%*phN\n", ND_KEY_LEN, cfg->server_pub);
}
static ND_DEVICE_ATTR_RO(server_pub, ND_ATTR_SERVER_PUB);

static ssize_t cache_state_show(struct device *d,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", nd_cache_state(&to_nd(d)->cache));
}
static ND_DEVICE_ATTR_RO(cache_state, ND_ATTR_CACHE_STATE);

static ssize_t cache_reason_show(struct device *d,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_nd(d)->cache.reason);
}
static ND_DEVICE_ATTR_RO(cache_reason, ND_ATTR_CACHE_REASON);

static ssize_t cache_size_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", to_nd(d)->cache.size);
}
static ND_DEVICE_ATTR_RO(cache_size, ND_ATTR_CACHE_SIZE);

static ssize_t cache_used_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", nd_cache_used_bytes(&to_nd(d)->cache));
}
static ND_DEVICE_ATTR_RO(cache_used, ND_ATTR_CACHE_USED);

static ssize_t counter_show(char *buf, atomic64_t *v)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(v));
}

static ssize_t cache_hits_show(struct device *d,
			       struct device_attribute *attr, char *buf)
{
	return counter_show(buf, &to_nd(d)->cache.hits);
}
static ND_DEVICE_ATTR_RO(cache_hits, ND_ATTR_CACHE_HITS);

static ssize_t cache_misses_show(struct device *d,
				 struct device_attribute *attr, char *buf)
{
	return counter_show(buf, &to_nd(d)->cache.misses);
}
static ND_DEVICE_ATTR_RO(cache_misses, ND_ATTR_CACHE_MISSES);

static ssize_t cache_evictions_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	return counter_show(buf, &to_nd(d)->cache.evictions);
}
static ND_DEVICE_ATTR_RO(cache_evictions, ND_ATTR_CACHE_EVICTIONS);

static ssize_t cache_invalidations_show(struct device *d,
					struct device_attribute *attr,
					char *buf)
{
	return counter_show(buf, &to_nd(d)->cache.invalidations);
}
static ND_DEVICE_ATTR_RO(cache_invalidations, ND_ATTR_CACHE_INVALIDATIONS);

static struct attribute *nd_disk_attrs[] = {
	&dev_attr_server.attr,
	&dev_attr_export.attr,
	&dev_attr_client_id.attr,
	&dev_attr_state.attr,
	&dev_attr_connections.attr,
	&dev_attr_reconnects.attr,
	&dev_attr_dead_timeout.attr,
	&dev_attr_export_id.attr,
	&dev_attr_name.attr,
	&dev_attr_server_pub.attr,
	&dev_attr_cache_state.attr,
	&dev_attr_cache_reason.attr,
	&dev_attr_cache_size.attr,
	&dev_attr_cache_used.attr,
	&dev_attr_cache_hits.attr,
	&dev_attr_cache_misses.attr,
	&dev_attr_cache_evictions.attr,
	&dev_attr_cache_invalidations.attr,
	NULL,
};

static const struct attribute_group nd_disk_group = {
	.name = ND_SYSFS_NAME,
	.attrs = nd_disk_attrs,
};

const struct attribute_group *nd_disk_groups[] = {
	&nd_disk_group,
	NULL,
};

int nd_sysfs_init(void)
{
	return bus_register(&nd_bus_type);
}

void nd_sysfs_exit(void)
{
	bus_unregister(&nd_bus_type);
}
