# shellcheck shell=bash
# Shared helpers for the benchmark scripts under bench/. Source it, do not run it.
#
# Nothing here knows a mirror host name: the Debian mirror is read at run time
# from the machine's own apt configuration (bench_apt_mirror).

# Directory of this file, the bench/ directory and the repository root.
BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(cd "$BENCH_LIB_DIR/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
BENCH_REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

# Everything expensive to rebuild (images, compiled helpers, downloaded .debs)
# is kept here; bench/.gitignore keeps it out of git.
BENCH_CACHE_DIR=${TREECAST_BENCH_CACHE:-$BENCH_DIR/.cache}

# Name used as the prefix of log lines; scripts set it before sourcing.
: "${BENCH_PROG:=$(basename "$0")}"

bench_log() {
	printf '%s: %s\n' "$BENCH_PROG" "$*" >&2
}

bench_die() {
	printf '%s: error: %s\n' "$BENCH_PROG" "$*" >&2
	exit 1
}

# bench_need_root WHAT: loop mounts and chroots need root; say so plainly.
bench_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		bench_die "$1 needs root (loop devices, mount, chroot); run it as root"
	fi
}

# bench_need_cmd CMD PACKAGE: install PACKAGE with apt-get when CMD is missing.
bench_need_cmd() {
	local cmd=$1 pkg=$2
	if command -v "$cmd" >/dev/null 2>&1; then
		return 0
	fi
	# sbin tools may be installed but outside a non-root PATH.
	if [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		bench_die "'$cmd' is missing: install the Debian package '$pkg' (apt-get install $pkg)"
	fi
	bench_log "'$cmd' is missing: installing Debian package '$pkg'"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
		bench_die "apt-get install $pkg failed (try 'apt-get update' first)"
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
		bench_die "package '$pkg' is installed but '$cmd' is still not found"
}

# bench_size_bytes SIZE: print SIZE in bytes. Accepts plain bytes or binary
# suffixes K, M, G, T (also written KiB, MiB, ...): 1G = 1073741824.
bench_size_bytes() {
	local s=$1 n
	s=${s%iB}
	s=${s%B}
	case $s in
	'' | *[!0-9KMGTkmgt]* | [KMGTkmgt]*)
		bench_die "bad size '$1' (expected e.g. 512M, 1G, 1GiB or a byte count)"
		;;
	esac
	n=$(numfmt --from=iec "${s^^}" 2>/dev/null) || bench_die "bad size '$1'"
	printf '%s\n' "$n"
}

# bench_os_codename: the OS codename from /etc/os-release (e.g. bookworm).
bench_os_codename() {
	local codename=''
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091
		codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	fi
	if [ -z "$codename" ] && command -v lsb_release >/dev/null 2>&1; then
		codename=$(lsb_release -sc 2>/dev/null || true)
	fi
	[ -n "$codename" ] || bench_die "cannot read the OS codename from /etc/os-release (VERSION_CODENAME)"
	printf '%s\n' "$codename"
}

# bench_apt_source_files: the apt source files in the order apt reads them:
# the main sources.list, then sources.list.d/*.list and *.sources by name.
# Paths come from apt-config when it is there, so a relocated Dir::Etc works.
bench_apt_source_files() {
	local sl=/etc/apt/sources.list sp=/etc/apt/sources.list.d/ f
	local SL='' SP=''
	if command -v apt-config >/dev/null 2>&1; then
		eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"
		sl=${SL:-$sl}
		sp=${SP:-$sp}
	fi
	[ -f "$sl" ] && printf '%s\n' "$sl"
	for f in "${sp%/}"/*; do
		case $f in
		*.list | *.sources) [ -f "$f" ] && printf '%s\n' "$f" ;;
		esac
	done
	return 0
}

# bench_apt_mirror_in FILE SUITE: print the first 'deb' URI of FILE whose suite
# is SUITE. One-line format for *.list, deb822 for *.sources.
bench_apt_mirror_in() {
	local file=$1 suite=$2 format=list
	case $file in *.sources) format=deb822 ;; esac
	awk -v want="$suite" -v format="$format" '
	function flush() {
		if (p_types ~ /(^| )deb( |$)/ && p_enabled != "no" && p_uris != "") {
			n = split(p_suites, s, " ")
			for (i = 1; i <= n; i++) {
				if (s[i] == want) {
					split(p_uris, u, " ")
					print u[1]
					found = 1
					exit
				}
			}
		}
		p_types = p_uris = p_suites = p_enabled = ""
		last = ""
	}
	format == "list" {
		sub(/#.*/, "")
		if ($1 != "deb")
			next
		line = $0
		sub(/^[ \t]*deb[ \t]+/, "", line)
		# Drop the "[ option=value ... ]" block, which may hold spaces.
		if (line ~ /^\[/)
			sub(/^\[[^]]*\][ \t]*/, "", line)
		split(line, f, /[ \t]+/)
		if (f[2] == want) {
			print f[1]
			found = 1
			exit
		}
		next
	}
	# deb822: paragraphs of "Field: value" lines, continuation lines start
	# with a blank, comments with "#".
	/^#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ {
		v = $0
		gsub(/^[ \t]+|[ \t]+$/, "", v)
		if (last == "types") p_types = p_types " " v
		else if (last == "uris") p_uris = p_uris " " v
		else if (last == "suites") p_suites = p_suites " " v
		next
	}
	{
		key = tolower($0)
		sub(/:.*/, "", key)
		v = $0
		sub(/^[^:]*:[ \t]*/, "", v)
		sub(/[ \t]+$/, "", v)
		last = key
		if (key == "types") p_types = v
		else if (key == "uris") p_uris = v
		else if (key == "suites") p_suites = v
		else if (key == "enabled") p_enabled = tolower(v)
	}
	END { if (!found && format == "deb822") flush() }
	' "$file"
}

# bench_apt_mirror [SUITE]: the Debian mirror URI this machine's apt uses for
# SUITE (default: the OS codename). TREECAST_BENCH_MIRROR overrides it.
bench_apt_mirror() {
	local suite=${1:-$(bench_os_codename)} f uri
	if [ -n "${TREECAST_BENCH_MIRROR:-}" ]; then
		printf '%s\n' "$TREECAST_BENCH_MIRROR"
		return 0
	fi
	while IFS= read -r f; do
		uri=$(bench_apt_mirror_in "$f" "$suite")
		if [ -n "$uri" ]; then
			printf '%s\n' "$uri"
			return 0
		fi
	done < <(bench_apt_source_files)
	bench_die "no 'deb' source for suite '$suite' in the apt configuration (sources.list, sources.list.d/*.list, *.sources); set TREECAST_BENCH_MIRROR=URI"
}

# bench_apt_proxy_env: export http_proxy/https_proxy from apt's own
# Acquire::http(s)::Proxy so that tools that do not read apt.conf (debootstrap
# uses wget) take the same route as apt-get.
bench_apt_proxy_env() {
	local HP='' HSP=''
	command -v apt-config >/dev/null 2>&1 || return 0
	eval "$(apt-config shell HP Acquire::http::Proxy HSP Acquire::https::Proxy)"
	if [ -n "$HP" ] && [ "$HP" != DIRECT ] && [ -z "${http_proxy:-}" ]; then
		export http_proxy=$HP
	fi
	if [ -n "$HSP" ] && [ "$HSP" != DIRECT ] && [ -z "${https_proxy:-}" ]; then
		export https_proxy=$HSP
	fi
	return 0
}

# bench_cc_tool NAME SOURCE.c: compile a benchmark helper once into the cache
# (keyed by the source's hash) and print the binary's path.
bench_cc_tool() {
	local name=$1 src=$2 hash bin cc=${CC:-cc}
	hash=$(sha256sum "$src" | cut -c1-16)
	bin=$BENCH_CACHE_DIR/bin/$name-$hash
	if [ ! -x "$bin" ]; then
		command -v "$cc" >/dev/null 2>&1 || bench_need_cmd gcc gcc
		mkdir -p "$BENCH_CACHE_DIR/bin"
		"$cc" -std=c11 -O2 -Wall -Wextra -Werror -o "$bin.tmp.$$" "$src" ||
			bench_die "cannot compile $src"
		mv -f "$bin.tmp.$$" "$bin"
	fi
	printf '%s\n' "$bin"
}
