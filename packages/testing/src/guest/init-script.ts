/** Magic at the start of every writer record. */
export const WRITER_MAGIC = 'STRATAW1';
/** Size of one writer record, in bytes. */
export const WRITER_RECORD_SIZE = 512;
/** Seconds between the writer's rounds, when this file says so (in /run, and on a filesystem disk). */
export const WRITER_INTERVAL_FILE = 'strata-writer.interval';
/** Name of the writer's log file on a filesystem disk (one present at boot holding ext4). */
export const WRITER_FS_LOG = 'strata-writer.log';

/**
 * The guest's /init (busybox ash). It loads the virtio modules in the order the cloud kernel
 * needs, makes /dev/virtio-ports links by hand (there is no udev), starts qemu-ga, then runs the
 * writer: one global sequence counter, records written round-robin over every disk, each write
 * synced (dd conv=fsync) before the next. Disks present at boot that hold ext4 are mounted and
 * written through a file, so a frozen filesystem stalls the whole writer (a visible gap); every
 * other disk gets raw records from sector 0, wrapping at 64 MiB. Hot-plugged disks are picked up,
 * and removed ones dropped, with a console line for each. Each round waits `intervalSeconds`, or
 * what WRITER_INTERVAL_FILE says (setWriterInterval): a test that reads no stalls slows it down,
 * so its guest does not keep a CPU busy.
 *
 * Record (512 bytes, space padded, newline last):
 *   STRATAW1 <seq> <time_us> <slot> <devname> <serial>
 * The script avoids `${...}` so it can live in a TypeScript template literal.
 */
export function initScript(intervalSeconds: number): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /mnt /var /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /run /var/run
# qemu-ga's guest-shutdown runs /sbin/shutdown, which busybox lacks
printf '#!/bin/sh\nsync\nexec poweroff -f\n' > /sbin/shutdown
chmod 755 /sbin/shutdown
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk virtio_console; do
  insmod /lib/modules/$m.ko
done
log() { echo "strata-guest: $*" > /dev/console; }
mkdir -p /dev/virtio-ports
i=0
while [ $i -lt 50 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    read pname < "$p/name"
    ln -sf "/dev/$(basename $p)" "/dev/virtio-ports/$pname"
  done
  [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && break
  i=$((i+1)); usleep 100000
done
cd /sys/block
FSDISKS=""
for n in vd*; do
  [ -e "/sys/block/$n" ] || continue
  mkdir -p /mnt/$n
  if mount -t ext4 /dev/$n /mnt/$n 2>/dev/null; then FSDISKS="$FSDISKS $n"; log "fs-disk $n"; else rmdir /mnt/$n; fi
done
# qemu-ga after the mounts: a guest whose agent answers has its filesystems in place (a freeze
# that found none would not hold: qemu-ga leaves its frozen state when it froze nothing)
qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -f /run/qemu-ga.pid -t /run
log "qemu-ga started"
# the writer's pace can change while it runs (WRITER_INTERVAL_FILE, read each round) and persists
# on a filesystem disk across reboots and reverts
for n in $FSDISKS; do
  [ -r /mnt/$n/${WRITER_INTERVAL_FILE} ] && cp /mnt/$n/${WRITER_INTERVAL_FILE} /run/${WRITER_INTERVAL_FILE}
done
mkfifo /run/tick
KNOWN=" "
seq=0
log "writer started"
while :; do
  cd /sys/block
  NOW=" "
  for n in vd*; do
    [ -e "/sys/block/$n" ] || continue
    NOW="$NOW$n "
    case "$KNOWN" in *" $n "*) ;; *)
      serial=""; [ -e "$n/serial" ] && read serial < "$n/serial"
      read sectors < "$n/size"
      cap=131072; [ "$sectors" -lt "$cap" ] && cap=$sectors
      target=/dev/$n
      case "$FSDISKS" in *" $n"*) target=/mnt/$n/${WRITER_FS_LOG}; cap=8192 ;; esac
      # a write that raced an unplug left a plain file where the node belongs: put the node back
      if [ "$target" = "/dev/$n" ] && [ ! -b "$target" ]; then
        IFS=: read ma mi < "$n/dev"; rm -f "$target"; mknod "$target" b $ma $mi
      fi
      eval "serial_$n=\\$serial; cap_$n=\\$cap; target_$n=\\$target; slot_$n=0"
      log "disk-added $n serial=$serial"
      ;;
    esac
  done
  for n in $KNOWN; do
    case "$NOW" in *" $n "*) ;; *) log "disk-removed $n" ;; esac
  done
  KNOWN="$NOW"
  for n in $NOW; do
    eval "serial=\\$serial_$n; cap=\\$cap_$n; target=\\$target_$n; slot=\\$slot_$n"
    adjtimex > /run/adj
    while read k v rest; do
      case "$k" in time.tv_sec:) s=$v ;; time.tv_usec:) u=$v ;; esac
    done < /run/adj
    ts=$((s*1000000+u))
    # an unplugged disk's node is gone: dd would create a plain file in its place
    case "$target" in /dev/*) [ -b "$target" ] || continue ;; esac
    printf '%-511s\\n' "${WRITER_MAGIC} $((seq+1)) $ts $slot $n $serial" > /run/rec
    if dd if=/run/rec of="$target" bs=512 seek=$slot count=1 conv=notrunc,fsync 2>/dev/null; then
      seq=$((seq+1))
      slot=$((slot+1)); [ $slot -ge $cap ] && slot=0
      eval "slot_$n=\\$slot"
    fi
  done
  iv=${intervalSeconds}
  [ -r /run/${WRITER_INTERVAL_FILE} ] && read iv < /run/${WRITER_INTERVAL_FILE}
  read -t $iv x <> /run/tick
done
`;
}
