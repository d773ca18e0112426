#!/usr/bin/perl
# sbuild-drive.pl SCHROOT CHROOT: drives sbuild's own schroot-mode code (Sbuild::ChrootInfoSchroot,
# Sbuild::ChrootSchroot, Sbuild::ChrootSetup::basesetup, from libsbuild-perl) with SCHROOT as its
# "schroot": --info, -c chroot:NAME --begin-session, --info --chroot session:ID, the -d DIR -c ID
# --run-session -q -u USER -p -- CMD calls of its set-up, and --end-session. Prints "ok" at the end.
use strict;
use warnings;
use Sbuild::Conf;
use Sbuild::ChrootInfoSchroot;

my ($schroot, $chroot) = @ARGV;
my $conf = Sbuild::Conf::new();
$conf->set('SCHROOT', $schroot);
$conf->set('BUILD_USER', 'root');
my $info = Sbuild::ChrootInfoSchroot->new($conf);
my $session = $info->create('chroot', $chroot, undef, $conf->get('BUILD_ARCH'))
    or die "sbuild found no chroot '$chroot'\n";
$session->begin_session() or die "begin_session failed\n";
my $loc = $session->get('Location');
print "session ", $session->get('Session ID'), " at $loc\n";
-d "$loc/build" or die "sbuild's set-up made no /build, seen at the Location\n";
$session->run_command({ COMMAND => ['sh', '-c', 'echo from-sbuild > /build/x'], USER => 'root', DIR => '/build' });
die "run_command failed\n" if $?;
open(my $f, '<', "$loc/build/x") or die "the file written is not at the Location: $!\n";
my $got = <$f>;
chomp $got;
die "read '$got' at the Location\n" if $got ne 'from-sbuild';
$session->end_session() or die "end_session failed\n";
-e $loc and die "the Location is still there after end_session\n";
print "ok\n";
