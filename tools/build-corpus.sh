#!/usr/bin/env bash
# Builds lorakit's public-domain English corpus from Debian packages, deterministically.
#
# Usage: tools/build-corpus.sh [OUT_DIR] [--update-sha]
#   OUT_DIR       where train.txt and validation.txt go (default: build/corpus under the repo root;
#                 it is not committed: .gitignore lists /build/)
#   --update-sha  write the outputs' sha256 into tools/corpus.sha256 instead of checking them
#
# Needs: apt-get, apt-cache, dpkg-deb, perl (perl-base is enough), gzip, sha256sum. No root:
# `apt-get download` fetches .deb files into the current directory without installing anything.
# If apt does not know a package (no package lists yet), run `apt-get update` (as root) first;
# the script never runs it itself, it says so and goes on with the packages that exist.
#
# Sources (all public domain; checked against Debian 12 "bookworm"):
#   bible-kjv-text 4.38   King James Bible (1611), stored in the compressed format of the BRS
#                         "bible" program; bible-kjv 4.38 (that program) is downloaded too and run
#                         from the extraction directory to print the text, never installed.
#   jargon-text 4.4.7-4.1 The Jargon File 4.4.7 (usr/share/doc/jargon-text/jargon.txt.gz).
#   dict-devil 1.0-13.1   Ambrose Bierce, The Devil's Dictionary (usr/share/dictd/devil.dict.dz,
#                         a dictzip file, i.e. gzip-compatible).
#
# Steps (each source becomes "paragraphs", one per output line):
#   1. Bible: `bible -f -p DATA_DIR Gen1:1-Rev22:21` prints one verse per line, "Ge1:1 In the
#      beginning ...". The book/chapter:verse reference is removed and the verses of one chapter are
#      joined with single spaces: one chapter = one paragraph (1189 paragraphs). No headings.
#   2. Jargon File: the table of contents before the "Welcome to the Jargon File" heading is
#      dropped, and so is the glossary index (every block that is just an entry's headword).
#      Blocks are separated by blank lines; a block is kept only if every line is indented by
#      exactly three spaces (ordinary prose: this drops centred headings, bullet lists, tables and
#      code) and it ends like a sentence (. ! or ? optionally followed by a quote or bracket; this
#      drops headings). Bibliography entries (containing "ISBN") are dropped. An entry's headword
#      line ":headword: pronunciation, part of speech" is not kept as such: the headword, followed
#      by ": ", prefixes the entry's first kept paragraph. Cross-reference braces {word} become word.
#   3. Devil's Dictionary: the dictd header and title page before "PREFACE" are dropped. Within a
#      blank-line separated block, a line indented by whitespace starts a new paragraph; a paragraph
#      is kept only if it has an unindented line (so verse, quotations and attributions, which are
#      indented throughout, are dropped). Italic markers _word_ become word.
#   4. Every paragraph: lines are joined with a space, except that a line ending in letter + "-"
#      (a hyphenated compound broken at the line end) is joined without one; Unicode punctuation is
#      mapped to ASCII (curly quotes to ' and ", dashes to -- or -, nbsp to space, arrow to ->,
#      (c) (TM) (R), accented Latin letters to their base letter, ae, ss); a paragraph that still
#      holds a non-ASCII character after that is dropped (and counted); whitespace runs become one
#      space; leading and trailing space is removed; empty paragraphs are dropped.
#   5. The paragraphs, in the order Bible, Jargon File, Devil's Dictionary, are numbered from 1;
#      paragraph n goes to validation.txt if n is a multiple of 20 (5%), else to train.txt. Each
#      output file holds one paragraph per line, "\n"-terminated, ASCII only.
#   6. Sizes and sha256 of both files are printed and checked against tools/corpus.sha256
#      (sha256sum -c format with bare file names; --update-sha rewrites it).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
out="$root/build/corpus"
update_sha=0
for arg in "$@"; do
  case "$arg" in
    --update-sha) update_sha=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "build-corpus: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done
sha_file="$root/tools/corpus.sha256"
every=20   # paragraph n (1-based) with n % every == 0 goes to validation

for tool in apt-get apt-cache dpkg-deb perl gzip sha256sum mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-corpus: needs $tool (a Debian-based system)" >&2; exit 1; }
done

# 0. Which packages does apt know? (`apt-cache policy` prints "Candidate: (none)" or nothing.)
has_candidate() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  [ -n "$c" ] && [ "$c" != "(none)" ]
}
wanted=(bible-kjv-text bible-kjv jargon-text dict-devil)
available=()
missing=()
for p in "${wanted[@]}"; do
  if has_candidate "$p"; then available+=("$p"); else missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-corpus: apt knows no candidate for: ${missing[*]}" >&2
  echo "build-corpus: if apt's package lists are empty, run 'apt-get update' as root and rerun;" >&2
  echo "build-corpus: going on with: ${available[*]:-nothing}" >&2
fi
if [ "${#available[@]}" -eq 0 ]; then
  echo "build-corpus: no source package available" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lorakit-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs" "$tmp/root" "$tmp/text"
(cd "$tmp/debs" && apt-get download -q "${available[@]}" >/dev/null 2>"$tmp/download.log") || {
  cat "$tmp/download.log" >&2
  echo "build-corpus: apt-get download failed" >&2
  exit 1
}
for deb in "$tmp"/debs/*.deb; do
  dpkg-deb -x "$deb" "$tmp/root"
done
echo "build-corpus: packages:"
for deb in "$tmp"/debs/*.deb; do
  printf '  %-34s %s\n' "$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version)" "$(sha256sum "$deb" | cut -d' ' -f1)"
done

# Shared per-paragraph normalisation (step 4), used by the three extractors below.
cat > "$tmp/normalise.pl" <<'PERL'
use strict;
use warnings;
our $dropped_non_ascii = 0;
my %map = (
  "\x{201C}" => '"', "\x{201D}" => '"', "\x{201E}" => '"', "\x{2018}" => "'", "\x{2019}" => "'",
  "\x{00B4}" => "'", "\x{2014}" => ' -- ', "\x{2013}" => '-', "\x{2212}" => '-', "\x{2010}" => '-',
  "\x{00A0}" => ' ', "\x{2192}" => '->', "\x{00D7}" => 'x', "\x{00A9}" => '(c)', "\x{2122}" => '(TM)',
  "\x{00AE}" => '(R)', "\x{00B7}" => '', "\x{2022}" => '', "\x{2026}" => '...',
  "\x{00E9}" => 'e', "\x{00E8}" => 'e', "\x{00EA}" => 'e', "\x{00EB}" => 'e', "\x{00C9}" => 'E',
  "\x{00F6}" => 'o', "\x{00F3}" => 'o', "\x{00F4}" => 'o', "\x{00FC}" => 'u', "\x{00FA}" => 'u',
  "\x{00EF}" => 'i', "\x{00ED}" => 'i', "\x{00E4}" => 'a', "\x{00E0}" => 'a', "\x{00E1}" => 'a',
  "\x{00E2}" => 'a', "\x{00E7}" => 'c', "\x{00F1}" => 'n', "\x{00E6}" => 'ae', "\x{00DF}" => 'ss',
  "\x{00D8}" => 'O', "\x{00F8}" => 'o',
);
my $keys = join '', map { sprintf '\\x{%X}', ord } sort keys %map;
my $re = qr/[$keys]/;
# How many paragraphs paragraph() dropped for non-ASCII characters.
sub dropped_non_ascii { return $dropped_non_ascii; }
# Joins the lines of one paragraph and normalises it; returns '' if it must be dropped.
sub paragraph {
  my @lines = @_;
  my $text = '';
  for my $l (@lines) {
    $l =~ s/^\s+|\s+$//g;
    next if $l eq '';
    if ($text eq '') { $text = $l; }
    elsif ($text =~ /[A-Za-z]-$/ && $text !~ /--$/) { $text .= $l; }
    else { $text .= ' ' . $l; }
  }
  $text =~ s/($re)/$map{$1}/g;
  if ($text =~ /[^\x20-\x7E\t]/) { $dropped_non_ascii++; return ''; }
  $text =~ s/\s+/ /g;
  $text =~ s/^ | $//g;
  return $text;
}
1;
PERL

# Step 1: the King James Bible, one chapter per paragraph.
cat > "$tmp/bible.pl" <<'PERL'
use strict;
use warnings;
require "$ENV{NORMALISE}";
my $chapter = '';
my @verses;
my $n = 0;
sub flush { if (@verses) { my $p = paragraph(join(' ', @verses)); if ($p ne '') { print "$p\n"; $n++; } } @verses = (); }
while (my $line = <STDIN>) {
  chomp $line;
  next if $line =~ /^\s*$/;
  $line =~ /^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$/ or die "bible: unexpected line $.: $line\n";
  my $key = "$1 $2";
  if ($key ne $chapter) { flush(); $chapter = $key; }
  push @verses, $4;
}
flush();
print STDERR "  bible: $n paragraphs (chapters); ${\ dropped_non_ascii()} dropped as non-ASCII\n";
PERL

# Step 2: the Jargon File.
cat > "$tmp/jargon.pl" <<'PERL'
use strict;
use warnings;
require "$ENV{NORMALISE}";
local $/;
my $all = <STDIN>;
my @blocks = split /\n[ \t]*\n/, $all;
my %headwords;
for my $b (@blocks) { $headwords{$1} = 1 if $b =~ /^   :(.+?):/; }
my ($started, $headword, $n, $skipped) = (0, undef, 0, 0);
for my $b (@blocks) {
  $b =~ s/^\n+|\n+$//g;
  if (!$started) { $started = 1 if $b =~ /^ {10,}Welcome to the Jargon File\s*$/; next; }
  if ($b =~ /^   :(.+?):/) { $headword = $1; next; }
  my @lines = split /\n/, $b;
  my $prose = !grep { !/^   \S/ } @lines;
  (my $flat = $b) =~ s/^\s+|\s+$//g;
  if (!$prose || $flat !~ /[.!?]["'\x{201D}\x{2019})\]]?$/ || $b =~ /ISBN/ || (@lines == 1 && $headwords{$flat})) {
    $skipped++;
    next;
  }
  s/\{([^{}]*)\}/$1/g for @lines;
  my $p = paragraph(@lines);
  next if $p eq '';
  if (defined $headword) { $p = "$headword: $p"; $headword = undef; }
  print "$p\n";
  $n++;
}
print STDERR "  jargon: $n paragraphs ($skipped blocks dropped: headings, lists, tables, index); ${\ dropped_non_ascii()} dropped as non-ASCII\n";
PERL

# Step 3: The Devil's Dictionary.
cat > "$tmp/devil.pl" <<'PERL'
use strict;
use warnings;
require "$ENV{NORMALISE}";
local $/;
my $all = <STDIN>;
$all =~ s/\A.*?^ +PREFACE *\n//ms or die "devil: no PREFACE heading\n";
my ($n, $verse) = (0, 0);
for my $b (split /\n[ \t]*\n/, $all) {
  my @paras;
  for my $line (split /\n/, $b) {
    next if $line =~ /^\s*$/;
    push @paras, [] if !@paras || $line =~ /^\s/;
    push @{$paras[-1]}, $line;
  }
  for my $para (@paras) {
    if (!grep { /^\S/ } @$para) { $verse++; next; }
    s/_//g for @$para;
    my $p = paragraph(@$para);
    next if $p eq '';
    print "$p\n";
    $n++;
  }
}
print STDERR "  devil: $n paragraphs ($verse indented verse/quotation/attribution lines or stanzas dropped); ${\ dropped_non_ascii()} dropped as non-ASCII\n";
PERL

export NORMALISE="$tmp/normalise.pl"
: > "$tmp/text/all.txt"
echo "build-corpus: extracting (paragraphs kept per source):"
if [ -f "$tmp/root/usr/lib/bible.data" ] && [ -x "$tmp/root/usr/bin/bible" ]; then
  HOME="$tmp" "$tmp/root/usr/bin/bible" -f -p "$tmp/root/usr/lib" Gen1:1-Rev22:21 > "$tmp/text/kjv-verses.txt"
  perl -CSD "$tmp/bible.pl" < "$tmp/text/kjv-verses.txt" >> "$tmp/text/all.txt"
else
  echo "  bible: skipped (bible-kjv-text or its reader bible-kjv missing)" >&2
fi
if [ -f "$tmp/root/usr/share/doc/jargon-text/jargon.txt.gz" ]; then
  gzip -dc "$tmp/root/usr/share/doc/jargon-text/jargon.txt.gz" | perl -CSD "$tmp/jargon.pl" >> "$tmp/text/all.txt"
else
  echo "  jargon: skipped (jargon-text missing)" >&2
fi
if [ -f "$tmp/root/usr/share/dictd/devil.dict.dz" ]; then
  gzip -dc "$tmp/root/usr/share/dictd/devil.dict.dz" | perl -CSD "$tmp/devil.pl" >> "$tmp/text/all.txt"
else
  echo "  devil: skipped (dict-devil missing)" >&2
fi

if LC_ALL=C grep -q '[^ -~]' "$tmp/text/all.txt"; then
  echo "build-corpus: internal error: non-ASCII or control character left in the text" >&2
  exit 1
fi

# Step 5: the fixed split, written to temporary names and renamed into place.
mkdir -p "$out"
: > "$tmp/text/train.txt"
: > "$tmp/text/validation.txt"
awk -v every="$every" -v train="$tmp/text/train.txt" -v val="$tmp/text/validation.txt" \
  '{ if (NR % every == 0) print > val; else print > train }' "$tmp/text/all.txt"
for f in train.txt validation.txt; do
  cp "$tmp/text/$f" "$out/.$f.tmp"
  mv -f "$out/.$f.tmp" "$out/$f"
done

# Step 6: report and verify.
echo "build-corpus: wrote $out"
for f in train.txt validation.txt; do
  printf '  %-15s %9d bytes %7d paragraphs  sha256 %s\n' "$f" "$(wc -c < "$out/$f")" "$(wc -l < "$out/$f")" \
    "$(sha256sum "$out/$f" | cut -d' ' -f1)"
done
if [ "$update_sha" -eq 1 ]; then
  (cd "$out" && sha256sum train.txt validation.txt) > "$sha_file"
  echo "build-corpus: recorded the sha256 in $sha_file"
elif [ -f "$sha_file" ]; then
  if (cd "$out" && sha256sum --quiet -c "$sha_file"); then
    echo "build-corpus: sha256 match $sha_file"
  else
    echo "build-corpus: sha256 differ from $sha_file (other package versions? see the list above)" >&2
    exit 3
  fi
else
  echo "build-corpus: no $sha_file to check against (use --update-sha to record one)"
fi
