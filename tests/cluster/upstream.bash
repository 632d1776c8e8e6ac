# Sourced by kubemacpool/build.sh and audit/build.sh: builds one program of an upstream release
# tarball in ../shared/upstream/ (beside the clone: KMP_UPSTREAM_DIR, default
# <repo>/../shared/upstream), whose Go module the module proxy refuses.
#
# The build runs in a Go module of our own, the go.mod and go.sum beside the calling build.sh:
# it requires the upstream module at its release tag, replaces it with the unpacked tarball
# (`=> ./src`) and repeats the upstream go.mod's replace directives (those of a dependency do not
# apply to the module that builds it), so every dependency comes from the proxy at the version the
# upstream's own go.sum pins, checked by our go.sum (-mod=readonly). After the build,
# `go list -deps` of the program in the unpacked tree (its own go.mod) and in ours must name the
# same modules at the same versions: a drift is an error that names the differences.
#
# The cache folder, outside the clone, is keyed by the tarball's sha256 and our go.mod and go.sum:
# ${XDG_CACHE_HOME:-~/.cache}/kubemacpool-policy/NAME-<16 digits of the tarball's sha256>-<8 digits
# of go.mod+go.sum>/, reused when complete. It holds bin/BINARY, src/ (the unpacked tree) and our
# go.mod and go.sum. Prints that folder on stdout.
#
# Exit 3, with one line on stderr, where the tarball is absent (the callers skip with that line).
# A tarball whose sha256 differs is an error (exit 1), never a skip.

# shellcheck source=lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# build_upstream DIR NAME TARBALL SHA256 MODULE PACKAGE BINARY WHAT
#   DIR: the folder of go.mod and go.sum; NAME: the cache folder's prefix; PACKAGE: the program,
#   relative to MODULE (./cmd/manager); WHAT: the program's name in messages.
build_upstream() {
  local dir=$1 name=$2 tarball_name=$3 sha256=$4 module=$5 package=$6 binary=$7 what=$8
  local me upstream tarball ours cache got start src
  me="$(basename "$dir")/build.sh"
  upstream="${KMP_UPSTREAM_DIR:-$REPO/../shared/upstream}"
  tarball="$upstream/$tarball_name"
  if [ ! -f "$tarball" ]; then
    echo "no $tarball_name in $upstream, so $what cannot be built" >&2
    return 3
  fi
  use_go || { echo "$me: no go on PATH" >&2; return 2; }
  ours=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-8)
  cache="$KMP_CACHE_ROOT/$name-${sha256:0:16}-$ours"
  if [ -f "$cache/.complete" ]; then echo "$cache"; return 0; fi
  got=$(sha256sum "$tarball" | cut -d' ' -f1)
  [ "$got" = "$sha256" ] || { echo "$me: $tarball has sha256 $got, want $sha256" >&2; return 1; }
  rm -rf "$cache"
  mkdir -p "$cache/bin" "$cache/unpack"
  start=$(date +%s)
  tar -xzf "$tarball" -C "$cache/unpack"
  mv "$cache/unpack/${tarball_name%.tar.gz}" "$cache/src"
  rmdir "$cache/unpack"
  echo "$tarball_name sha256:$sha256" >"$cache/source"
  src="$cache/src"
  grep -q "^module $module\$" "$src/go.mod" || { echo "$me: $src is not $module" >&2; return 1; }
  cp "$dir/go.mod" "$dir/go.sum" "$cache/"

  echo "$me: building $what of $tarball_name into $cache (first time: about 4 min)" >&2
  (cd "$cache" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice -n "${KMP_BUILD_NICE:-5}" \
    go build -trimpath -ldflags=-s -o "$cache/bin/$binary" "$module/${package#./}") >&2 ||
    { echo "$me: the build failed in $cache (our go.mod and go.sum: $dir)" >&2; return 1; }
  local format='{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}{{end}}'
  (cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" go list -deps -f "$format" "$package") 2>/dev/null |
    grep -v "^$module " | sort -u >"$cache/modules.upstream" || true
  (cd "$cache" && GOFLAGS="-mod=readonly -buildvcs=false" go list -deps -f "$format" "$module/${package#./}") |
    grep -v "^$module " | sort -u >"$cache/modules.ours" || true
  [ -s "$cache/modules.ours" ] && diff "$cache/modules.upstream" "$cache/modules.ours" >&2 || {
    echo "$me: the modules of $what differ between $tarball_name's go.mod ('<') and $dir/go.mod ('>'):" \
      "update ours from the upstream go.mod's replace directives" >&2
    return 1
  }
  echo "$me: built in $(($(date +%s) - start)) s, $(wc -l <"$cache/modules.ours") modules as upstream pins them" >&2
  echo "$(($(date +%s) - start))" >"$cache/build-seconds"
  touch "$cache/.complete"
  echo "$cache"
}
