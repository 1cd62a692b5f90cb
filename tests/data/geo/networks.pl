# The test networks shared by every test database built here (flat.mmdb,
# maxmind.mmdb, maxmind-v4.mmdb). One table, so both layouts say the same
# thing about the same address and README.md can list it once.
#
# Keys: network (CIDR), country (ISO alpha-2, undef = no country), city
# (English name, undef = none), zh (Chinese name, maxmind layout only),
# lat/lon (undef = no position), accuracy_km (maxmind layout only),
# tz, region (state1 / subdivision), postcode, continent.
#
# Changing a row changes what detector and golden tests see: update
# README.md in the same change.
use strict;
use warnings;
use utf8;

[
    # City-level records (city + position).
    { network => '1.0.0.0/24', country => 'CN', city => 'Shanghai', zh => '上海',
      lat => 31.2222, lon => 121.4581, accuracy_km => 20,
      tz => 'Asia/Shanghai', region => 'Shanghai', continent => 'AS' },
    { network => '2.0.0.0/24', country => 'CN', city => 'Beijing', zh => '北京',
      lat => 39.9110, lon => 116.3950, accuracy_km => 50,
      tz => 'Asia/Shanghai', region => 'Beijing', continent => 'AS' },
    { network => '3.0.0.0/24', country => 'FR', city => 'Paris', zh => '巴黎',
      lat => 48.8534, lon => 2.3488, accuracy_km => 10,
      tz => 'Europe/Paris', region => 'Île-de-France', postcode => '75001',
      continent => 'EU' },
    { network => '192.0.2.0/24', country => 'CN', city => 'Guangzhou', zh => '广州',
      lat => 23.1181, lon => 113.2539, accuracy_km => 100,
      tz => 'Asia/Shanghai', region => 'Guangdong', continent => 'AS' },
    { network => '198.51.100.0/24', country => 'US', city => 'New York', zh => '纽约',
      lat => 40.7128, lon => -74.0060, accuracy_km => 5,
      tz => 'America/New_York', region => 'New York', postcode => '10001',
      continent => 'NA' },
    { network => '203.0.113.0/24', country => 'AU', city => 'Sydney', zh => '悉尼',
      lat => -33.8688, lon => 151.2093, accuracy_km => 200,
      tz => 'Australia/Sydney', region => 'New South Wales', postcode => '2000',
      continent => 'OC' },
    { network => '2001:db8:1::/48', country => 'JP', city => 'Tokyo', zh => '东京',
      lat => 35.6895, lon => 139.6917, accuracy_km => 100,
      tz => 'Asia/Tokyo', region => 'Tokyo', continent => 'AS' },
    { network => '2001:db8:4::/48', country => 'CN', city => 'Shanghai', zh => '上海',
      lat => 31.2222, lon => 121.4581, accuracy_km => 50,
      tz => 'Asia/Shanghai', region => 'Shanghai', continent => 'AS' },

    # Country level: a country and its centroid, no city (as GeoLite2 gives
    # for networks it cannot place more precisely).
    { network => '4.0.0.0/24', country => 'US', lat => 37.7510, lon => -97.8220,
      accuracy_km => 1000, tz => 'America/Chicago', continent => 'NA' },
    { network => '2001:db8:2::/48', country => 'DE', lat => 51.2993, lon => 9.4910,
      accuracy_km => 1000, tz => 'Europe/Berlin', continent => 'EU' },

    # No country (anycast / satellite style): flat has country_code "" and
    # no position; maxmind has a continent and a registered country (which
    # is not where the IP is, so ip_country stays unknown) and a position.
    { network => '5.0.0.0/24', lat => 50.0, lon => 10.0, accuracy_km => 500,
      continent => 'EU', registered => 'GB' },
    { network => '2001:db8:3::/48', lat => 35.0, lon => 105.0, accuracy_km => 1000,
      continent => 'AS', registered => 'CN' },

    # A city without a position: country level by definition.
    { network => '6.0.0.0/24', country => 'DE', city => 'Berlin', zh => '柏林',
      tz => 'Europe/Berlin', continent => 'EU' },
]
