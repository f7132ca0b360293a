#!/usr/bin/env bash
# Installs the system packages tests use, when we are root with apt-get.
# Missing tools are not fatal: the tests that need them skip and say so.
set -u
want=(tshark:tshark tcpdump:tcpdump iptables:iptables nft:nftables ipset:ipset shellcheck:shellcheck ip:iproute2
      conntrack:conntrack xtables-monitor:iptables jq:jq ping:iputils-ping python3:python3
      curl:curl /usr/bin/time:time mergecap:wireshark-common)
# chromium (HTML report test) is installed by that test itself: it is large.
missing=()
for w in "${want[@]}"; do
  cmd=${w%%:*} pkg=${w#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  # tshark asks whether non-root users may capture; answer no.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "deps: apt-get install failed; tests needing ${missing[*]} will skip"
else
  echo "deps: not root or no apt-get; tests needing ${missing[*]} will skip"
fi
exit 0
