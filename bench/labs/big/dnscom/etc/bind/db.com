$TTL 60
@	IN	SOA	dnscom.com. root.dnscom.com. ( 2026120701 28800 14400 3600000 60 )
@	IN	NS	dnscom.com.
dnscom	IN	A	192.168.1.11
web	IN	A	192.168.6.80
