#!/bin/sh
# SPDX-License-Identifier: ISC
# Quick start on a fresh Debian 12 machine: installs what is missing,
# builds in the source tree, creates a demo key and runs netdiskd in the
# foreground on netdisk.conf.example (127.0.0.1:26547, export "demo").
# netdiskd creates the sparse image demo/demo.img itself.  Stop it with ^C.
set -eu
cd "$(dirname "$0")/.."

./contrib/deps.sh
if [ ! -f Makefile ]; then
	./autogen.sh
	./configure
fi
make -j2

mkdir -p demo
if [ ! -f demo/netdisk.key ]; then
	src/netdiskctl/netdiskctl genkey -o demo/netdisk.key
	echo "quickstart: created demo/netdisk.key"
fi

echo "quickstart: running netdiskd on 127.0.0.1:26547; try in another shell:"
echo "  src/netdiskctl/netdiskctl info -k demo/netdisk.key netdisk://127.0.0.1/demo"
exec src/netdiskd/netdiskd -f -c netdisk.conf.example
