#!/usr/bin/perl
# check-syscalls.pl UNIT BINARY TRACE...: prints, on one line, the system calls that BINARY made
# in the strace(1) logs TRACE (strace -f -o TRACE) and that the SystemCallFilter= lines of the
# systemd unit file UNIT do not allow, and the socket address families it used that
# RestrictAddressFamilies= does not allow (as "socket(AF_...)"). Empty line: all allowed. Used by
# check.sh, because these filters only bite under systemd, which a package check cannot count on.
#
# Each log is read from BINARY's first execve on (what ran before, such as setpriv dropping
# privileges, is not the daemon). The groups (@system-service, ...) come from
# `systemd-analyze syscall-filter` of the systemd installed here. Semantics as systemd.exec(5):
# the first SystemCallFilter= line decides allow list or deny list; in an allow list, later
# "~" lines take system calls out and later plain lines put them back.
use strict;
use warnings;

my ($unit, $binary, @traces) = @ARGV;
die "usage: check-syscalls.pl UNIT BINARY TRACE...\n" unless @traces;

my (%groups, $group);
for (`systemd-analyze syscall-filter 2>/dev/null`) {
	chomp;
	if (/^(@\S+)/) {
		$group = $1;
		$groups{$group} = [];
		next;
	}
	next unless defined $group;
	s/^\s+//;
	next if $_ eq '' || /^#/;
	push @{ $groups{$group} }, $_;
}
die "check-syscalls.pl: systemd-analyze syscall-filter listed no groups\n" unless %groups;

sub expand {
	my ($name, $seen) = @_;
	return ($name) if $name !~ /^@/;
	die "check-syscalls.pl: unknown system call group $name\n" unless $groups{$name};
	return () if $seen->{$name}++;
	return map { expand($_, $seen) } @{ $groups{$name} };
}

my (%allowed, $mode, %families);
open my $u, '<', $unit or die "check-syscalls.pl: $unit: $!\n";
while (<$u>) {
	if (/^\s*RestrictAddressFamilies=(.*?)\s*$/) {
		die "check-syscalls.pl: $unit: RestrictAddressFamilies= deny list; not supported\n" if $1 =~ /^~/;
		$families{$_} = 1 for split ' ', $1;
		next;
	}
	next unless /^\s*SystemCallFilter=(.*?)\s*$/;
	my $value = $1;
	my $deny = $value =~ s/^~//;
	$mode //= $deny ? 'deny' : 'allow';
	die "check-syscalls.pl: $unit: the first SystemCallFilter= is a deny list; not supported\n"
		if $mode eq 'deny';
	for my $name (split ' ', $value) {
		for my $call (expand($name, {})) {
			if ($deny) { delete $allowed{$call} } else { $allowed{$call} = 1 }
		}
	}
}
die "check-syscalls.pl: $unit has no SystemCallFilter=\n" unless $mode;

my (%used, %used_families);
for my $trace (@traces) {
	open my $t, '<', $trace or die "check-syscalls.pl: $trace: $!\n";
	my $started = 0;
	while (<$t>) {
		s/^\d+\s+//;
		$started ||= /^execve\("\Q$binary\E"/;
		next unless $started;
		$used{$1} = 1 if /^([a-z0-9_]+)\(/;
		$used_families{$1} = 1 if /^socket(?:pair)?\((AF_[A-Z0-9]+)/;
	}
	die "check-syscalls.pl: $trace: no execve of $binary\n" unless $started;
}
die "check-syscalls.pl: no system calls in @traces\n" unless %used;
my @denied = sort grep { !$allowed{$_} } keys %used;
if (%families) {
	push @denied, map {"socket($_)"} sort grep { !$families{$_} } keys %used_families;
}
print join(' ', @denied), "\n";
