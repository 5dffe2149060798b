#!/usr/bin/env bash
# Runs the five-minute quick start of every SDK README literally: the fenced
# blocks after `<!-- quickstart: … -->` markers are written or executed in a
# fresh directory, in order.
#   <!-- quickstart: file PATH -->    write the block to PATH
#   <!-- quickstart: append PATH -->  append the block to PATH
#   <!-- quickstart: run -->          run the block with bash (set -e)
#   <!-- quickstart: server expect=X -->  run the block against a Ferrite
#                                      server; the last line printed must be X
#
# Usage: sdk/quickstart-test.sh [--port PORT] [rust c go assemblyscript]
# Without --port the server steps are skipped (reported as such); with it,
# `redis-cli` in the blocks talks to 127.0.0.1:PORT, where a Ferrite with the
# WASM commands must be listening.
set -euo pipefail
FERRITE=$(cd "$(dirname "$0")/.." && pwd)
export FERRITE
PORT=""
if [ "${1:-}" = "--port" ]; then PORT=$2; shift 2; fi
SDKS=("$@")
[ ${#SDKS[@]} -gt 0 ] || SDKS=(rust c go assemblyscript)

# Debian's Rust 1.63 has the wasm32 targets; rustup's stable here may not.
if ! rustc --print target-libdir --target wasm32-unknown-unknown >/dev/null 2>&1 \
   || [ ! -d "$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null)" ]; then
  export PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0; failed=0; skipped=0

run_readme() { # sdk
  local sdk=$1 readme=$FERRITE/sdk/$1/README.md dir=$WORK/$1
  mkdir -p "$dir"
  local cwd=$dir marker="" block="" in_block=0 line
  echo "quickstart: == $sdk ($readme)"
  while IFS= read -r line || [ -n "$line" ]; do
    if [ $in_block -eq 0 ]; then
      if [[ $line =~ ^\<\!--\ quickstart:\ (.*)\ --\>$ ]]; then marker=${BASH_REMATCH[1]}; continue; fi
      if [[ $line == '```'* ]] && [ -n "$marker" ]; then in_block=1; block=""; continue; fi
    else
      if [[ $line == '```' ]]; then
        in_block=0
        step "$sdk" "$marker" "$block" || return 1
        marker=""
        continue
      fi
      block+="$line"$'\n'
    fi
  done < "$readme"
}

step() { # sdk marker block; runs in $cwd and updates it (blocks may cd)
  local sdk=$1 marker=$2 block=$3
  case $marker in
    file\ *) mkdir -p "$cwd/$(dirname "${marker#file }")"; printf '%s' "$block" > "$cwd/${marker#file }"
             echo "quickstart:    wrote ${marker#file }" ;;
    append\ *) printf '\n%s' "$block" >> "$cwd/${marker#append }"
               echo "quickstart:    appended to ${marker#append }" ;;
    run) echo "quickstart:    run: $(head -1 <<<"$block")…"
         cwd=$(cd "$cwd" && bash -euo pipefail -c "$block"$'\npwd' | tail -1) ;;
    server\ expect=*)
      if [ -z "$PORT" ]; then
        echo "quickstart:    SKIPPED server step (no --port): $(tail -2 <<<"$block" | head -1)"
        skipped=$((skipped + 1)); return 0
      fi
      local out
      out=$(cd "$cwd" && bash -euo pipefail -c "redis-cli() { command redis-cli -h 127.0.0.1 -p $PORT \"\$@\"; }; $block")
      echo "$out" | sed 's/^/quickstart:    | /'
      if [ "$(tail -1 <<<"$out")" != "${marker#server expect=}" ]; then
        echo "quickstart:    FAILED: expected '${marker#server expect=}'" >&2; return 1
      fi ;;
    *) echo "quickstart: unknown marker '$marker'" >&2; return 1 ;;
  esac
}

for sdk in "${SDKS[@]}"; do
  if ( run_readme "$sdk" ); then passed=$((passed + 1)); echo "quickstart: == $sdk ok"
  else failed=$((failed + 1)); echo "quickstart: == $sdk FAILED" >&2; fi
done
[ -n "$PORT" ] || echo "quickstart: server steps skipped: pass --port PORT of a running Ferrite to run them"
echo "quickstart: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
