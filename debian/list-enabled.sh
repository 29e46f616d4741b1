#!/bin/sh
# Prints "mod NAME", "conf NAME" and "site NAME" for every link in the *-enabled folders of
# the tree given as $1: the set postinst enables on a fresh install.
set -eu
tree="$1"
for pair in mods:mod conf:conf sites:site; do
	dir=${pair%%:*}; kind=${pair#*:}
	for link in "$tree/$dir-enabled"/*; do
		[ -L "$link" ] || continue
		name=$(basename "$link")
		case "$kind:$name" in
		mod:*.load) echo "$kind ${name%.load}" ;;
		mod:*) ;;  # a module's .conf comes with its .load
		*:*.conf) echo "$kind ${name%.conf}" ;;
		esac
	done
done
