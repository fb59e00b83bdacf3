#!/usr/bin/env bash
# Fresh Debian 12: do the README's commands start the window?  (issue 14, "must show")
#
# Checks, on a minimal Debian 12 (bookworm) root that has only what `apt-get` and the
# README's commands put there:
#   F1  python3 + python3-venv only (no Qt system libraries): `genstudio` under an X server
#       with QT_QPA_PLATFORM=xcb exits 2 and names the missing libraries + the apt command.
#   F2  the README's Debian list minus ONE xcb library (libxcb-icccm4, not libxcb-cursor0,
#       which Qt's own message blames whatever is missing): genstudio names exactly that
#       library and `apt-get install libxcb-icccm4`, exit 2; Qt's own abort is shown for
#       contrast (a bare QApplication under xcb).
#   F3  the README's full list, then the README's start command in a fresh venv
#       (python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 &&
#       pip install -e . && genstudio): `genstudio --screenshot` under xcb, and a plain
#       `genstudio` left running 20 s (must still be alive; then killed), with an X
#       screenshot of the real xcb window (Pillow's ImageGrab of the X root window).
#   F4  which README packages the window really needs: each one removed in turn
#       (dpkg -r --force-depends, so only that package goes), `genstudio --screenshot`
#       under xcb, then reinstalled; plus the packages whose files the running window
#       mapped (/proc/PID/maps -> dpkg -S) that the README's apt command would NOT install
#       on a fresh system (so a README gap hidden by xvfb's own dependencies shows up).
#
# Why debootstrap and not `docker run debian:12`: this machine has a docker client but no
# docker engine. A `debootstrap --variant=minbase bookworm` root entered with chroot is
# the same starting point as the debian:12 image (Essential packages + apt, no X, no Qt
# libraries, no recommends-pulled desktop bits).
#
# Differences from a real desktop, on purpose and only these:
#   - `xvfb xauth` are installed to have an X server (xvfb-run); a desktop has one already.
#     F4's map check catches any library that Xvfb's dependencies would mask.
#   - We are root in the chroot, so apt-get runs without `sudo` (minbase has no sudo).
#   - This machine's pip setup is copied in (pip.conf files, constraints.txt, CA certificates)
#     and /opt/wheels, /opt/pypi, /opt/pypi-more are bind-mounted read-only: pip takes
#     torch 2.13.0+cpu from /opt/wheels (the README's CPU note: install the CPU torch
#     first; a bare torch would pull a multi-GB CUDA build), the rest from PyPI.
#   - No window manager: the xcb window sits undecorated at (0, 0) on the Xvfb screen.
#
# Prints, and writes to $OUT (default /work/fresh_debian_out): run.log (everything),
# summary.txt (key=value: durations, exit codes, verdicts), the stderr of every genstudio
# run, shot-offscreen-xcb.png (genstudio --screenshot under xcb), xcb-root-window.png
# (the X screen with the running window), ablation.txt, loaded-packages.txt.
#
# Usage (root, Debian/Ubuntu host with apt):   bash bench/fresh_debian.sh
#   ROOT=/work/debroot  REPO=<this repo>  OUT=/work/fresh_debian_out  KEEP_ROOT=1 (reuse
#   an existing debootstrap root instead of rebuilding it; F1/F2 then need the Qt libs
#   absent, so the default is to rebuild: the whole run takes ~10-15 min on 2 cores).
# Idempotent: unmounts whatever a previous run left mounted, rebuilds the root, clones
# the repository's committed HEAD afresh (git clone: uncommitted work is not tested).
# Everything it mounts is unmounted on exit (trap); the root itself is left in place.
set -euo pipefail

ROOT=${ROOT:-/work/debroot}
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
OUT=${OUT:-/work/fresh_debian_out}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE=${CACHE:-/var/cache/debootstrap-bookworm}   # downloaded .debs, reused by reruns
BINDS=(/opt/wheels /opt/pypi /opt/pypi-more)
DROP=libxcb-icccm4          # F2: the one README package left out
XVFB_SCREEN="-screen 0 1600x1000x24"
APP=/root/genstudio         # the clone, as seen inside the root

[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot, mount)"; exit 1; }
mkdir -p "$OUT" "$CACHE"
: > "$OUT/run.log"; : > "$OUT/summary.txt"
exec > >(tee -a "$OUT/run.log") 2>&1

say() { printf '\n=== %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }
put() { echo "$1=$2" | tee -a "$OUT/summary.txt"; }   # a measured value
now() { date +%s; }

# Run a command inside the root with a clean environment (what a fresh login has, roughly).
inroot() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1"
}

XVFB_PID=""
unmount_all() {
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null || true
    XVFB_PID=""
    local m
    for m in "${BINDS[@]}" /dev/pts /dev/shm /dev /sys /proc; do
        mountpoint -q "$ROOT$m" 2>/dev/null && umount "$ROOT$m"
    done
    if findmnt -rn -o TARGET | grep -q "^$ROOT"; then
        echo "WARNING: still mounted under $ROOT:"; findmnt -rn -o TARGET | grep "^$ROOT"
    fi
    return 0
}
trap unmount_all EXIT

mount_all() {
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    mountpoint -q "$ROOT/sys" || mount -t sysfs sysfs "$ROOT/sys"
    mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
    mountpoint -q "$ROOT/dev/pts" || mount --bind /dev/pts "$ROOT/dev/pts"
    mountpoint -q "$ROOT/dev/shm" || mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm"
    local b
    for b in "${BINDS[@]}"; do
        mkdir -p "$ROOT$b"
        if ! mountpoint -q "$ROOT$b"; then
            mount --bind "$b" "$ROOT$b"; mount -o remount,bind,ro "$ROOT$b"
        fi
    done
}

# --------------------------------------------------------------------------- the root
say "host: $(. /etc/os-release; echo "$PRETTY_NAME"), $(nproc) cores; repo $REPO @ $(git -C "$REPO" rev-parse --short HEAD)"
put date "$(date -u +%Y-%m-%dT%H:%MZ)"
put repo_commit "$(git -C "$REPO" rev-parse --short HEAD)"
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
unmount_all
if [ "${KEEP_ROOT:-0}" = 1 ] && [ -f "$ROOT/etc/debian_version" ]; then
    say "reusing $ROOT (KEEP_ROOT=1)"
else
    say "debootstrap --variant=minbase bookworm $ROOT"
    if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then echo "still mounted under $ROOT; not deleting it"; exit 1; fi
    rm -rf --one-file-system "$ROOT"
    t=$(now)
    debootstrap --variant=minbase --cache-dir="$CACHE" bookworm "$ROOT" "$MIRROR" > "$OUT/debootstrap.log" 2>&1 \
        || { tail -20 "$OUT/debootstrap.log"; exit 1; }
    put debootstrap_s $(( $(now) - t ))
fi
put root_debian_version "$(cat "$ROOT/etc/debian_version")"
# The apt sources of a real Debian 12 install (debootstrap writes only "bookworm main").
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"  # no daemons in a chroot
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# This machine's pip setup (see the header): where the CPU torch lies, the cap, the CA bundle.
for f in /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt /root/.config/pip/pip.conf \
         /etc/ssl/certs/ca-certificates.crt; do
    [ -f "$f" ] && install -D -m 644 "$f" "$ROOT$f"
done
# ... and this machine's extra CA certificates (its HTTPS egress proxy), where Debian's
# ca-certificates (pulled in by python3) keeps them when it rebuilds the bundle.
for f in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$f" ] && install -D -m 644 "$f" "$ROOT$f"
done
mount_all
mkdir -p "$ROOT/root/results"

# --------------------------------------------------------------------------- the clone
say "git clone $REPO $ROOT$APP (committed HEAD only)"
rm -rf "$ROOT$APP"
git clone -q "$REPO" "$ROOT$APP"
put clone_commit "$(git -C "$ROOT$APP" rev-parse --short HEAD)"

# The Debian/Ubuntu list, read from the clone's README ("Set up on a fresh machine").
CMD=$(awk '/^## Set up on a fresh machine/{s=1} s&&/Debian 12/{d=1} d&&/^ *```bash/{g=1;next} g&&/^ *```/{exit} g{print}' \
      "$ROOT$APP/README.md" | tr -d '\\' | tr -s ' \n' ' ' | sed 's/^ *//;s/ *$//')
case "$CMD" in "sudo apt-get install "*) ;; *) echo "README's Debian command not found: '$CMD'"; exit 1;; esac
PKGS=${CMD#sudo apt-get install }
put readme_command "$CMD"
LIBS=$(for p in $PKGS; do case $p in python3|python3-venv) ;; *) echo "$p";; esac; done | tr '\n' ' ')

say "apt-get update in the root; what the README's command would install on this fresh root"
t=$(now); inroot "apt-get update -qq"; put apt_update_s $(( $(now) - t ))
inroot "dpkg-query -W -f='\${Package}\n'" | sort -u > "$OUT/base-packages.txt"
inroot "apt-get install -s $PKGS" | awk '/^Inst /{print $2}' | sort -u > "$OUT/readme-installs.txt"
sort -u "$OUT/base-packages.txt" "$OUT/readme-installs.txt" > "$OUT/readme-set.txt"
put base_packages "$(wc -l < "$OUT/base-packages.txt")"
put readme_command_installs "$(wc -l < "$OUT/readme-installs.txt") packages"
# Which README packages the others (with their Recommends) pull in anyway.
: > "$OUT/pulled-anyway.txt"
for p in $LIBS; do
    others=$(echo " $PKGS " | sed "s/ $p / /")
    inroot "apt-get install -s $others" | awk '/^Inst /{print $2}' | grep -qx "$p" && echo "$p" >> "$OUT/pulled-anyway.txt"
done
put readme_pkgs_pulled_in_by_the_others "$(tr '\n' ' ' < "$OUT/pulled-anyway.txt")"

# ----------------------------------------------------------------- F1: no Qt libraries
say "F1: apt-get install python3 python3-venv xvfb xauth (no Qt system libraries yet)"
t=$(now); inroot "apt-get install -y -q python3 python3-venv xvfb xauth" > "$OUT/apt-f1.log"; put apt_f1_s $(( $(now) - t ))
put root_python "$(inroot 'python3 --version')"
put f1_readme_libs_already_installed_by_xvfb_python3 "$(for p in $LIBS; do inroot "dpkg -s $p >/dev/null 2>&1" && printf '%s ' "$p"; done)"
say "F1: the README's start command (CPU torch first), up to genstudio"
t=$(now)
inroot "cd $APP && python3 -m venv .venv && . .venv/bin/activate && pip install -q torch==2.13.0 && pip install -q -e ." \
    > "$OUT/pip-f1.log" 2>&1 || { tail -30 "$OUT/pip-f1.log"; exit 1; }
put pip_f1_s $(( $(now) - t ))
put pyside6 "$(inroot "$APP/.venv/bin/python -c 'import PySide6, torch; print(PySide6.__version__, torch.__version__)'")"
rc=0; inroot "cd $APP && . .venv/bin/activate && QT_QPA_PLATFORM=xcb timeout 300 xvfb-run -a -s '$XVFB_SCREEN' genstudio" \
    > "$OUT/f1-genstudio.stderr" 2>&1 || rc=$?
echo "--- genstudio printed (F1):"; cat "$OUT/f1-genstudio.stderr"
put f1_genstudio_exit $rc

# ------------------------------------------------------ F2: all but one xcb library
say "F2: the README's apt command without $DROP"
t=$(now); inroot "apt-get install -y -q $(echo " $PKGS " | sed "s/ $DROP / /")" > "$OUT/apt-f2.log"; put apt_f2_s $(( $(now) - t ))
if inroot "dpkg -s $DROP >/dev/null 2>&1"; then echo "$DROP got installed anyway; F2 cannot show it missing"; exit 1; fi
rc=0; inroot "cd $APP && . .venv/bin/activate && QT_QPA_PLATFORM=xcb timeout 300 xvfb-run -a -s '$XVFB_SCREEN' genstudio" \
    > "$OUT/f2-genstudio.stderr" 2>&1 || rc=$?
echo "--- genstudio printed (F2):"; cat "$OUT/f2-genstudio.stderr"
put f2_genstudio_exit $rc
grep -q "libxcb-icccm.so.4" "$OUT/f2-genstudio.stderr" && grep -q "apt-get install $DROP" "$OUT/f2-genstudio.stderr" \
    && put f2_names_library_and_command yes || put f2_names_library_and_command NO
rc=0; inroot "cd $APP && QT_QPA_PLATFORM=xcb timeout 120 xvfb-run -a -s '$XVFB_SCREEN' .venv/bin/python -c 'from PySide6.QtWidgets import QApplication; QApplication([])'" \
    > "$OUT/f2-bare-qt.stderr" 2>&1 || rc=$?
echo "--- for contrast, Qt's own message (bare QApplication, same state):"; cat "$OUT/f2-bare-qt.stderr"
put f2_bare_qapplication_exit $rc

# ------------------------------------------- F3: the README's list and start command
say "F3: the README's apt command, complete"
t=$(now); inroot "apt-get install -y -q $PKGS" > "$OUT/apt-f3.log"; put apt_f3_s $(( $(now) - t ))
say "F3: the README's start command in a fresh venv; genstudio --screenshot under xvfb-run, QT_QPA_PLATFORM=xcb"
t=$(now)
rc=0; inroot "cd $APP && rm -rf .venv && python3 -m venv .venv && . .venv/bin/activate && pip install -q torch==2.13.0 && pip install -q -e . && QT_QPA_PLATFORM=xcb timeout 300 xvfb-run -a -s '$XVFB_SCREEN' genstudio --screenshot /root/results/shot-offscreen-xcb.png" \
    > "$OUT/f3-screenshot.stderr" 2>&1 || rc=$?
put f3_readme_chain_with_screenshot_s $(( $(now) - t ))
echo "--- output (F3 screenshot):"; grep -v '^ *$' "$OUT/f3-screenshot.stderr" | tail -15
put f3_screenshot_exit $rc

say "F3: plain genstudio under xvfb-run (xcb), left running 20 s, X screenshot, then killed"
cat > "$ROOT/root/bg.sh" <<'EOF'
# Runs inside xvfb-run: start the window as a user would, wait, look, stop it.
cd /root/genstudio && . .venv/bin/activate
export QT_QPA_PLATFORM=xcb
t0=$(date +%s.%N)
genstudio > /root/results/genstudio-bg.stdout 2> /root/results/genstudio-bg.stderr &
pid=$!
sleep 20
if kill -0 $pid 2>/dev/null; then echo "alive_after_20s=yes"; else echo "alive_after_20s=no"; fi
cp /proc/$pid/maps /root/results/genstudio-bg.maps 2>/dev/null || true
python - <<'PY'
import os
from PIL import ImageGrab
im = ImageGrab.grab(xdisplay=os.environ["DISPLAY"])      # the X root window, through xcb
im.save("/root/results/xcb-root-window.png")
bbox = im.convert("L").point(lambda v: 255 if v > 0 else 0).getbbox()   # non-black area
box = ",".join(map(str, bbox)) if bbox else "none"
print(f"root_screenshot={im.size[0]}x{im.size[1]} non_black_bbox={box} colours={len(im.getcolors(1 << 24) or [])}")
PY
kill $pid 2>/dev/null; wait $pid; echo "genstudio_exit_after_kill=$?"
EOF
rc=0; inroot "timeout 300 xvfb-run -a -s '$XVFB_SCREEN' bash /root/bg.sh" > "$OUT/f3-bg.out" 2>&1 || rc=$?
cat "$OUT/f3-bg.out"
while IFS= read -r line; do case $line in *=*) put "f3_${line%%=*}" "${line#*=}";; esac; done < <(grep '=' "$OUT/f3-bg.out" | tr ' ' '\n')
put f3_xvfb_run_exit $rc
echo "--- genstudio stderr while running (F3):"; cat "$ROOT/root/results/genstudio-bg.stderr"
put f3_genstudio_stderr_lines "$(grep -c . "$ROOT/root/results/genstudio-bg.stderr" || true)"

# ------------------------------------------------ F4: which packages the window needs
say "F4: packages whose files the running window mapped, not installed by the README's command"
awk '$6 ~ /^\// {print $6}' "$ROOT/root/results/genstudio-bg.maps" | sort -u > "$OUT/mapped-files.txt"
: > "$OUT/loaded-packages.txt"
while read -r f; do
    case $f in $APP/*|/dev/*|/tmp/*|/memfd*) continue;; esac
    p=$(inroot "dpkg -S '$f' 2>/dev/null || dpkg -S '${f#/usr}' 2>/dev/null" | head -1 | cut -d: -f1) || true
    [ -n "$p" ] && echo "$p" >> "$OUT/loaded-packages.txt"
done < "$OUT/mapped-files.txt"
sort -u -o "$OUT/loaded-packages.txt" "$OUT/loaded-packages.txt"
put f4_system_packages_mapped "$(wc -l < "$OUT/loaded-packages.txt")"
put f4_mapped_but_not_from_readme_command "$(comm -23 "$OUT/loaded-packages.txt" "$OUT/readme-set.txt" | tr '\n' ' ')"
put f4_readme_pkgs_not_mapped "$(for p in $LIBS; do grep -qx "$p" "$OUT/loaded-packages.txt" || printf '%s ' "$p"; done)"

say "F4: each README library package removed alone (dpkg -r --force-depends), genstudio --screenshot under xcb, reinstalled"
# One Xvfb for all of them, started with everything installed (it keeps its libraries mapped).
chroot "$ROOT" /usr/bin/Xvfb :77 $XVFB_SCREEN -nolisten tcp > "$OUT/xvfb-ablation.log" 2>&1 &
XVFB_PID=$!; sleep 3
: > "$OUT/ablation.txt"
for p in $LIBS; do
    inroot "dpkg -r --force-depends $p" > /dev/null 2>&1 || echo "dpkg -r $p failed"
    rc=0; inroot "cd $APP && . .venv/bin/activate && DISPLAY=:77 QT_QPA_PLATFORM=xcb timeout 300 genstudio --screenshot /tmp/abl.png" \
        > "$OUT/ablation-$p.stderr" 2>&1 || rc=$?
    first=$(grep -m1 -E 'genstudio:|qt\.|Could not' "$OUT/ablation-$p.stderr" | cut -c1-160)
    printf '%-22s exit=%-3s %s\n' "$p" "$rc" "$first" | tee -a "$OUT/ablation.txt"
    inroot "apt-get install -y -q $p" > /dev/null 2>&1 || inroot "apt-get -f install -y -q" > /dev/null
done
kill "$XVFB_PID" 2>/dev/null; wait "$XVFB_PID" 2>/dev/null || true; XVFB_PID=""
put f4_needed_to_start "$(awk '$2!="exit=0"{printf "%s ", $1}' "$OUT/ablation.txt")"
put f4_not_needed_to_start "$(awk '$2=="exit=0"{printf "%s ", $1}' "$OUT/ablation.txt")"

cp "$ROOT"/root/results/* "$OUT"/ 2>/dev/null || true
say "done: $OUT"
cat "$OUT/summary.txt"
