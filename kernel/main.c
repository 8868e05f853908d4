// SPDX-License-Identifier: GPL-2.0-only
/*
 * netdisk.ko: a block device on a netdisk export (netdiskd), spoken to
 * over TCP with protocol v2, or v3 given the server's public key.  This
 * file only wires the parts together: the parameters of the device
 * attached at load, init and exit.
 *
 *   modprobe netdisk address=127.0.0.1 export=demo key=HEX
 *
 * attaches netdisk0 at load time; /sys/bus/netdisk/add attaches more.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "conn.h"
#include "dev.h"
#include "netdisk.h"
#include "params.h"
#include "selftest.h"
#include "sysfs.h"

static char nd_param_address[64];
module_param_string(address, nd_param_address, sizeof(nd_param_address),
		    0444);
MODULE_PARM_DESC(address,
		 "Server to attach netdisk0 to at load: numeric IPv4 or IPv6 address (default: none, attach nothing)");

static ushort nd_param_port = ND_DEFAULT_PORT;
module_param_named(port, nd_param_port, ushort, 0444);
MODULE_PARM_DESC(port, "Server port (default: 26547)");

static char nd_param_export[ND_NAME_MAX + 1];
module_param_string(export, nd_param_export, sizeof(nd_param_export), 0444);
MODULE_PARM_DESC(export, "Export name (required with address)");

static u8 nd_param_key[ND_KEY_LEN];
static bool nd_param_key_set;

/* The value is parsed, then wiped from the module's argument string. */
static int key_param_set(const char *val, const struct kernel_param *kp)
{
	int err = nd_parse_key(nd_param_key, val);

	nd_param_key_set = !err;
	memzero_explicit((char *)val, strlen(val));
	return err;
}

static const struct kernel_param_ops key_param_ops = {
	.set = key_param_set,
};
module_param_cb(key, &key_param_ops, NULL, 0);
MODULE_PARM_DESC(key,
		 "Pre-shared key, 64 hex digits (required with address; never readable back)");

static char nd_param_server_pub[2 * ND_KEY_LEN + 1];
module_param_string(server_pub, nd_param_server_pub,
		    sizeof(nd_param_server_pub), 0444);
MODULE_PARM_DESC(server_pub,
		 "The server's static X25519 public key, 64 hex digits: netdisk0 speaks protocol version 3 only (default: none, version 2)");

static bool nd_param_ro;
module_param_named(ro, nd_param_ro, bool, 0444);
MODULE_PARM_DESC(ro, "Attach netdisk0 read-only (default: 0)");

static bool nd_param_selftest;
module_param_named(selftest, nd_param_selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "Check the protocol test vectors at load, fail the load on a mismatch (default: 0)");

/* modprobe netdisk address=... export=... key=...: attach netdisk0. */
static int attach_from_params(void)
{
	struct nd_config *cfg;
	struct nd_device *dev;
	int err;

	if (!nd_param_export[0] || !nd_param_key_set) {
		pr_err(ND_DRV_NAME ": address= needs export= and key=\n");
		return -EINVAL;
	}
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	cfg->index = -1;
	cfg->conns = nd_default_conns();
	cfg->dead_timeout = nd_param_dead_timeout;
	cfg->ro = nd_param_ro;
	cfg->cache = nd_param_cache;
	memcpy(cfg->key, nd_param_key, ND_KEY_LEN);
	err = nd_config_set_address(cfg, nd_param_address, nd_param_port);
	if (err)
		pr_err(ND_DRV_NAME ": address \"%s\" is not a numeric IPv4 or IPv6 address\n",
		       nd_param_address);
	if (!err && nd_param_server_pub[0]) {
		cfg->server_pub_set = true;
		err = nd_parse_server_pub(cfg->server_pub, nd_param_server_pub,
					  "parameter");
	}
	if (!err) {
		err = nd_config_set_export(cfg, nd_param_export);
		if (err)
			pr_err(ND_DRV_NAME ": export name must have 1 to %u bytes\n",
			       ND_NAME_MAX);
	}
	if (!err) {
		dev = nd_dev_add(cfg);
		if (IS_ERR(dev))
			err = PTR_ERR(dev);
	}
	kfree_sensitive(cfg);
	return err;
}

/* Reboot, halt, power off, kexec: every device leaves the server cleanly. */
static int nd_reboot(struct notifier_block *nb, unsigned long action,
		     void *data)
{
	nd_dev_halt_all();
	return NOTIFY_DONE;
}

static struct notifier_block nd_reboot_nb = {
	.notifier_call = nd_reboot,
};

static int __init nd_init(void)
{
	int err;

	err = nd_params_check();
	if (err)
		goto out;
	if (nd_param_selftest) {
		err = nd_selftest();
		if (err)
			goto out;
	}
	err = nd_wq_init();
	if (err)
		goto out;
	err = nd_dev_init(nd_disk_groups);
	if (err)
		goto err_wq;
	err = register_reboot_notifier(&nd_reboot_nb);
	if (err)
		goto err_dev;
	err = nd_sysfs_init();
	if (err)
		goto err_reboot;
	if (nd_param_address[0]) {
		err = attach_from_params();
		if (err)
			goto err_sysfs;
	}
	goto out;

err_sysfs:
	nd_sysfs_exit();
err_reboot:
	unregister_reboot_notifier(&nd_reboot_nb);
err_dev:
	nd_dev_exit();
err_wq:
	nd_wq_exit();
out:
	memzero_explicit(nd_param_key, sizeof(nd_param_key));
	return err;
}

static void __exit nd_exit(void)
{
	nd_sysfs_exit();
	unregister_reboot_notifier(&nd_reboot_nb);
	nd_dev_remove_all();
	nd_dev_exit();
	nd_wq_exit();
}

module_init(nd_init);
module_exit(nd_exit);

MODULE_DESCRIPTION("netdisk: encrypted network block device client");
MODULE_AUTHOR("The netdisk authors");
MODULE_LICENSE("GPL");
