#!/bin/sh
# Builds the threads test program static: build-threads.sh OUTPUT
# (the Threads integration tests run it; they skip, saying why, when gcc is missing).
set -e
here="$(cd "$(dirname "$0")" && pwd)"
exec gcc -static -pthread -O2 -Wall -o "$1" "$here/threads.c"
