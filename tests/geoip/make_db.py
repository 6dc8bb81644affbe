"""Writes a tiny MaxMind-format (GeoLite2-City shaped) database for the tests: a few
documentation networks placed in London, Paris and Sydney. No GeoLite download needed.

Usage: python3 make_db.py OUT.mmdb
"""
import sys

from mmdb_writer import MMDBWriter, MmdbF64
from netaddr import IPSet

PLACES = {
    "198.51.100.0/24": ("GB", 51.5072, -0.1276),   # London
    "192.0.2.0/24": ("FR", 48.8566, 2.3522),        # Paris
    "203.0.113.0/24": ("AU", -33.8688, 151.2093),   # Sydney
}

writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"])
for network, (country, latitude, longitude) in PLACES.items():
    writer.insert_network(
        IPSet([network]),
        {
            "country": {"iso_code": country},
            "location": {"latitude": MmdbF64(latitude), "longitude": MmdbF64(longitude)},
        },
    )
writer.to_db_file(sys.argv[1])
