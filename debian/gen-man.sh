#!/bin/sh
# Writes mpmd(8) from the daemon's own usage text (`mpmd -h`) and version (`mpmd -v`), so the
# page lists exactly the flags the binary accepts. Usage: gen-man.sh /path/to/mpmd > mpmd.8
set -eu
bin="$1"
version=$("$bin" -v 2>/dev/null | sed -n 's/^Server version: //p')
usage=$("$bin" -h 2>&1 || true)
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"; }
cat <<HEAD
.TH MPMD 8 "" "${version:-mpmd}" "System Administration"
.SH NAME
mpmd \- Apache\-httpd\-compatible web server with prefork, worker and event MPMs
.SH SYNOPSIS
.B mpmd
[\fIoptions\fR]
.SH DESCRIPTION
.B mpmd
reads an Apache httpd 2.4 configuration (by default \fI/etc/mpmd/mpmd.conf\fR, or a Debian
\fIapache2.conf\fR tree given with \fB\-d\fR and \fB\-f\fR), opens its listeners and serves
with the MPM chosen by \fBLoadModule mpm_prefork_module\fR, \fBmpm_worker_module\fR or
\fBmpm_event_module\fR. It answers the same signals and \fB\-k\fR commands as httpd.
.PP
On a Debian system use \fBmpmctl\fR(8) to start and control it, or \fBsystemctl\fR: the
configuration refers to variables set in \fI/etc/mpmd/envvars\fR, which \fBmpmctl\fR reads.
.SH OPTIONS
The options are those of httpd. This is the daemon's own list:
.PP
.nf
HEAD
printf '%s\n' "$usage" | esc
cat <<'TAIL'
.fi
.SH SIGNALS
SIGTERM stops at once, SIGHUP restarts, SIGUSR1 restarts gracefully (finishing in\-flight
requests and re\-reading the configuration, which may switch MPM), SIGWINCH stops
gracefully.
.SH FILES
.TP
.I /etc/mpmd/mpmd.conf
main configuration; \fImods\-enabled\fR, \fIconf\-enabled\fR and \fIsites\-enabled\fR
are managed with \fBmpmd\-enmod\fR(8) and friends.
.TP
.I /etc/mpmd/envvars
environment for \fBmpmctl\fR(8) and the systemd unit.
.TP
.I /var/log/mpmd/
error and access logs.
.SH SEE ALSO
\fBmpmctl\fR(8), \fBmpmd\-enmod\fR(8), \fBmpmd\-query\fR(8),
\fI/usr/share/doc/mpmd/operations.md\fR
TAIL
