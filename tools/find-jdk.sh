# Sourced by ./lorakit and ./test: sets JAVA_HOME to a JDK >= 25, or exits with a clear message.
# Order: $JAVA_HOME, then `java` on PATH, then /usr/lib/jvm/*.
_lorakit_java_major() {
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n 1)
  echo "${v%%.*}"
}
_lorakit_find_jdk() {
  local cand major
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for cand in /usr/lib/jvm/*; do candidates+=("$cand"); done
  for cand in "${candidates[@]}"; do
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    major=$(_lorakit_java_major "$cand")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      JAVA_HOME="$cand"
      return 0
    fi
  done
  return 1
}
if ! _lorakit_find_jdk; then
  echo "lorakit: no JDK 25 or newer found (looked at \$JAVA_HOME, java on PATH, /usr/lib/jvm/*)." >&2
  echo "lorakit: install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
fi
