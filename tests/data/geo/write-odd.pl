#!/usr/bin/perl
# Writes databases whose records use the expected keys with unexpected
# types, so tests can check that the reader treats such fields as absent
# instead of misreading or crashing.
#   odd-flat.mmdb:    country_code uint32, city map, latitude string,
#                     longitude boolean
#   odd-maxmind.mmdb: country a string, city.names an array, location
#                     latitude string, accuracy_radius string; and a
#                     record with only registered_country
#   odd-iso.mmdb:     country iso_code "cn" (lower case: read as CN), "CHN"
#                     and "C1" (not two letters: absent)
#   long-city.mmdb:   flat, int32 lat/lon, city names past 63 bytes, a
#                     latitude of 91
#   no-layout.mmdb:   records that are neither layout (an ASN database)
#   untold-*.mmdb:    only empty records; the type name decides (or
#                     nothing does, and the file is refused)
# Usage: write-odd.pl OUTDIR
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $dir = shift or die "usage: $0 OUTDIR\n";

sub write_db {
    my ($file, $type, $types, @rows) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version => 6, record_size => 24, database_type => $type,
        languages => ['en'], description => { en => "riskgate test: $type" },
        map_key_type_callback => sub { $types->{ $_[0] } // die "no type for $_[0]\n" },
        remove_reserved_networks => 0,
    );
    while (my ($net, $rec) = splice @rows, 0, 2) {
        $tree->insert_network($net, $rec);
    }
    $tree->_set_build_epoch(1767225600);    # reproducible files
    open my $fh, '>:raw', "$dir/$file" or die "$dir/$file: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$dir/$file: $!\n";
}

write_db('odd-flat.mmdb', 'riskgate-test odd flat',
    { country_code => 'uint32', city => 'map', en => 'utf8_string',
      latitude => 'utf8_string', longitude => 'boolean' },
    '1.0.0.0/24' => { country_code => 86, city => { en => 'Shanghai' },
                      latitude => '31.2', longitude => 1 });

write_db('odd-maxmind.mmdb', 'GeoLite2-City',
    { country => 'utf8_string', city => 'map', names => [ 'array', 'utf8_string' ],
      location => 'map', latitude => 'utf8_string', longitude => 'double',
      accuracy_radius => 'utf8_string', registered_country => 'map',
      iso_code => 'utf8_string' },
    '1.0.0.0/24' => { country => 'CN', city => { names => ['Shanghai'] },
                      location => { latitude => '31.2', longitude => 121.4,
                                    accuracy_radius => '20' } },
    '2.0.0.0/24' => { registered_country => { iso_code => 'cn' } },
);
# Separate file: "country" is a string above, a map here.
write_db('odd-iso.mmdb', 'GeoLite2-City',
    { country => 'map', iso_code => 'utf8_string' },
    '1.0.0.0/24' => { country => { iso_code => 'cn' } },
    '2.0.0.0/24' => { country => { iso_code => 'CHN' } },
    '3.0.0.0/24' => { country => { iso_code => 'C1' } },
);

write_db('no-layout.mmdb', 'GeoLite2-ASN',
    { autonomous_system_number => 'uint32',
      autonomous_system_organization => 'utf8_string' },
    '1.0.0.0/24' => { autonomous_system_number => 13335,
                      autonomous_system_organization => 'Example' });

# Flat layout with int32 positions and over-long city names: 62 ASCII
# bytes then a 2-byte character straddling the 63-byte limit; 70 ASCII
# bytes; and a latitude off the globe.
write_db('long-city.mmdb', 'riskgate-test long city',
    { country_code => 'utf8_string', city => 'utf8_string',
      latitude => 'int32', longitude => 'int32' },
    '1.0.0.0/24' => { country_code => 'CN', city => ('X' x 62) . "\x{e9}tail",
                      latitude => 31, longitude => -121 },
    '2.0.0.0/24' => { country_code => 'CN', city => 'Y' x 70,
                      latitude => 31, longitude => 121 },
    '3.0.0.0/24' => { country_code => 'CN', city => 'Z',
                      latitude => 91, longitude => 121 });

# Records that say nothing about the layout (an empty map): only
# database_type can tell it, or nothing does.
write_db('untold-maxmind.mmdb', 'GeoLite2-City', {}, '1.0.0.0/24' => {});
write_db('untold-flat.mmdb', 'city ipv4', {}, '1.0.0.0/24' => {});
write_db('untold-unknown.mmdb', 'riskgate-test untold', {}, '1.0.0.0/24' => {});
