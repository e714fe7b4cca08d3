#!/usr/bin/env bash
# mmdebstrap --customize-hook for the Raspberry Pi image: runs on the build host, after every
# package is installed, with the root file system at $1 (commands inside it run under
# qemu-aarch64 through binfmt). $2 is the arm64 `warren` binary.
set -euo pipefail
root=${1:?root file system}
binary=${2:?warren binary}
in_root() { chroot "$root" "$@"; }

install -m 0755 "$binary" "$root/usr/local/bin/warren"

# The daemon's user: no login, no home of its own (its state is /var/lib/warren).
in_root useradd --system --user-group --home-dir /var/lib/warren --no-create-home --shell /usr/sbin/nologin warren

echo warren > "$root/etc/hostname"
cat > "$root/etc/hosts" <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	warren
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
HOSTS
ln -sfn /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
cat > "$root/etc/fstab" <<'FSTAB'
LABEL=WARREN_ROOT  /               ext4  defaults,noatime  0 1
LABEL=WARREN_BOOT  /boot/firmware  vfat  defaults,noatime  0 2
FSTAB
# An empty machine-id: each card makes its own on first boot (and it is not a "first boot" for
# presets, so the units enabled here stay as they are).
: > "$root/etc/machine-id"

in_root systemctl enable warren-firstboot.service warren.service warren-admin-url.service \
  systemd-networkd.service systemd-resolved.service systemd-timesyncd.service avahi-daemon.service
# No login on the consoles without a password, and root has none: getty stays, showing the
# admin's address (/etc/issue.d/warren.issue).

# The Pi's boot partition: raspi-firmware's kernel hook writes cmdline.txt and config.txt from
# this file; in a chroot it cannot see the root partition, so name it.
cat > "$root/etc/default/raspi-firmware" <<'RASPI'
# Written by Warren's image build. See raspi-firmware's own file for every setting.
ROOTPART=LABEL=WARREN_ROOT
CONSOLES="ttyS1,115200 tty0"
# No cma= on the command line: raspi-firmware adds cma=64M unless it runs on a Pi 4, and that
# setting makes a Pi 4 unbootable; this image is built off the Pi and serves both (headless: the
# GPU needs no contiguous memory).
CMA=0
RASPI
in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware

rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
