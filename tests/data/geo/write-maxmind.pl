#!/usr/bin/perl
# Writes a test database in MaxMind's GeoIP2/GeoLite2-City layout
# (database_type "GeoLite2-City"), with the key types MaxMind uses
# (double lat/lon, uint16 accuracy_radius, uint32 geoname_id) and its
# ::ffff:0:0/96 aliases to the IPv4 subtree.
# With --v4-float it writes instead an IPv4-only tree ("GeoIP2-City")
# whose lat/lon are floats and accuracy_radius a uint32: the type
# variations a reader must accept.
# With --networks FILE it reads that table instead of networks.pl (same
# keys): networks-other.pl, a second database that disagrees with the first.
# Usage: write-maxmind.pl [--v4-float] [--networks FILE] OUT.mmdb
use strict;
use warnings;
use FindBin;
use Getopt::Long;
use MaxMind::DB::Writer::Tree;

my $v4_float = 0;
my $table = "$FindBin::Bin/networks.pl";
GetOptions('v4-float' => \$v4_float, 'networks=s' => \$table)
    or die "usage: $0 [--v4-float] [--networks FILE] OUT.mmdb\n";
my $variant = $v4_float ? '--v4-float' : '';
my $out = shift or die "usage: $0 [--v4-float] [--networks FILE] OUT.mmdb\n";
my $networks = do $table or die "$table: $@ $!\n";

my %types = (
    city => 'map', continent => 'map', country => 'map', location => 'map',
    registered_country => 'map', names => 'map', postal => 'map',
    subdivisions => [ 'array', 'map' ],
    code => 'utf8_string', iso_code => 'utf8_string', time_zone => 'utf8_string',
    en => 'utf8_string', 'zh-CN' => 'utf8_string',
    geoname_id => 'uint32',
    latitude => $variant ? 'float' : 'double',
    longitude => $variant ? 'float' : 'double',
    accuracy_radius => $variant ? 'uint32' : 'uint16',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => $variant ? 4 : 6,
    record_size => 28,
    database_type => $variant ? 'GeoIP2-City' : 'GeoLite2-City',
    languages => [ 'en', 'zh-CN' ],
    description => { en => 'riskgate test database, MaxMind layout' },
    map_key_type_callback => sub { $types{ $_[0] } // die "no type for $_[0]\n" },
    alias_ipv6_to_ipv4 => $variant ? 0 : 1,
    remove_reserved_networks => 0,
);
my %continent = (AS => 'Asia', EU => 'Europe', NA => 'North America', OC => 'Oceania',
                 SA => 'South America');
my $id = 1000;
sub place {
    my ($iso) = @_;
    return { geoname_id => $id++, iso_code => $iso, names => { en => $iso } };
}
for my $n (@$networks) {
    next if $variant && $n->{network} =~ /:/;
    my %rec;
    $rec{continent} = { code => $n->{continent}, geoname_id => $id++,
                        names => { en => $continent{ $n->{continent} } } }
        if $n->{continent};
    $rec{country} = place($n->{country}) if $n->{country};
    $rec{registered_country} = place($n->{registered} // $n->{country})
        if $n->{registered} // $n->{country};
    $rec{city} = { geoname_id => $id++, names => { en => $n->{city}, 'zh-CN' => $n->{zh} } }
        if $n->{city};
    $rec{subdivisions} = [ { iso_code => 'X', geoname_id => $id++, names => { en => $n->{region} } } ]
        if $n->{region};
    $rec{postal} = { code => $n->{postcode} } if $n->{postcode};
    if (defined $n->{lat}) {
        $rec{location} = { latitude => $n->{lat}, longitude => $n->{lon},
                           accuracy_radius => $n->{accuracy_km} };
        $rec{location}{time_zone} = $n->{tz} if $n->{tz};
    }
    $tree->insert_network($n->{network}, \%rec);
}
# A fixed build epoch (2026-01-01T00:00:00Z) keeps the files byte-for-byte
# reproducible; _set_build_epoch exists for exactly this in the writer.
$tree->_set_build_epoch(1767225600);
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
