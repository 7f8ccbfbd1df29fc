"""`make bench`: failover outage per daemon, advert_int and failure kind, and converge times."""
