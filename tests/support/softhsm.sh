#!/bin/sh
# Creates a SoftHSM2 configuration under DIR (tokens in DIR/tokens) and
# initializes a token with LABEL and the two PINs in a free slot. Run it
# again with the same DIR to add another token. Prints the path that
# SOFTHSM2_CONF must hold. Tests find the token by its label, because
# SoftHSM2 numbers slots at random.
#
# usage: softhsm.sh DIR LABEL SO_PIN USER_PIN
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 DIR LABEL SO_PIN USER_PIN" >&2
	exit 2
fi
dir=$1
label=$2
so_pin=$3
user_pin=$4

mkdir -p "$dir/tokens"
conf="$dir/softhsm2.conf"
if [ ! -f "$conf" ]; then
	cat > "$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
fi

SOFTHSM2_CONF=$conf softhsm2-util --init-token --free --label "$label" \
	--so-pin "$so_pin" --pin "$user_pin" >/dev/null
echo "$conf"
