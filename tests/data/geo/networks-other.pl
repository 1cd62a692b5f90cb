# A second opinion: the networks of other.mmdb (maxmind layout, written by
# write-maxmind.pl --networks), for tests of a handle holding several
# databases. Two rows disagree with networks.pl (the same network, another
# city), two are only here. Same keys as networks.pl; README.md lists them.
use strict;
use warnings;
use utf8;

[
    # Disagree with networks.pl (Shanghai, Tokyo there).
    { network => '1.0.0.0/24', country => 'CN', city => 'Hangzhou', zh => '杭州',
      lat => 30.2937, lon => 120.1614, accuracy_km => 30,
      tz => 'Asia/Shanghai', region => 'Zhejiang', continent => 'AS' },
    { network => '2001:db8:1::/48', country => 'JP', city => 'Osaka', zh => '大阪',
      lat => 34.6937, lon => 135.5023, accuracy_km => 40,
      tz => 'Asia/Tokyo', region => 'Osaka', continent => 'AS' },

    # Only in other.mmdb.
    { network => '7.0.0.0/24', country => 'GB', city => 'London', zh => '伦敦',
      lat => 51.5085, lon => -0.1257, accuracy_km => 5,
      tz => 'Europe/London', region => 'England', continent => 'EU' },
    { network => '2001:db8:7::/48', country => 'BR', city => 'Sao Paulo', zh => '圣保罗',
      lat => -23.5475, lon => -46.6361, accuracy_km => 100,
      tz => 'America/Sao_Paulo', region => 'Sao Paulo', continent => 'SA' },
]
