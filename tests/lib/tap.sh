# TAP helpers for mxgate's shell tests (sourced, not run). Pure bash, safe
# under `set -u`. Only TAP goes to stdout; diagnostics are `# ...` lines.
#
#   tap_plan N              print the plan "1..N" (call once, first or last)
#   tap_ok DESC CMD...      run CMD (output to stderr as "# " lines); ok if
#                           it exits 0
#   tap_is GOT WANT DESC    ok if the strings are equal
#   tap_like GOT REGEX DESC ok if GOT matches the bash ERE REGEX
#   tap_unlike GOT REGEX DESC  ok if GOT does not match
#   tap_pass DESC / tap_fail DESC   record a result directly
#   tap_skip N REASON       record N skipped tests
#   tap_skip_all REASON     print "1..0 # SKIP REASON" and exit 0
#   tap_bail REASON         print "Bail out! REASON" and exit 1
#   tap_diag TEXT...        print TEXT as "# " lines on stdout
#   tap_done                print the plan if none was given ("done testing")
#                           and return 1 if any test failed
#
# Variables: TAP_N (tests run so far), TAP_FAILED (failures so far).

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=0

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_diag() {
	local line
	# shellcheck disable=SC2068
	printf '%s\n' "$*" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

tap_pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
	local i=1
	# Say where the failing assertion sits in the test file.
	while [ $i -lt ${#BASH_SOURCE[@]} ]; do
		case ${BASH_SOURCE[$i]} in
		*/tap.sh|*/testnet.sh) ;;
		*)
			echo "#   at ${BASH_SOURCE[$i]} line ${BASH_LINENO[$((i - 1))]}"
			break
			;;
		esac
		i=$((i + 1))
	done
}

tap_ok() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		tap_pass "$desc"
		return 0
	fi
	tap_fail "$desc"
	tap_diag "command: $* (exit $rc)"
	[ -n "$out" ] && tap_diag "$out"
	return 1
}

tap_is() {
	if [ "$1" = "$2" ]; then
		tap_pass "$3"
		return 0
	fi
	tap_fail "$3"
	tap_diag "     got: '$1'"
	tap_diag "expected: '$2'"
	return 1
}

tap_like() {
	if [[ $1 =~ $2 ]]; then
		tap_pass "$3"
		return 0
	fi
	tap_fail "$3"
	tap_diag "                  '$1'"
	tap_diag "doesn't match '$2'"
	return 1
}

tap_unlike() {
	if ! [[ $1 =~ $2 ]]; then
		tap_pass "$3"
		return 0
	fi
	tap_fail "$3"
	tap_diag "                  '$1'"
	tap_diag "matches '$2'"
	return 1
}

tap_skip() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP $*"
	done
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

tap_bail() {
	echo "Bail out! $*"
	exit 1
}

tap_done() {
	[ "$TAP_PLANNED" -eq 0 ] && echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
