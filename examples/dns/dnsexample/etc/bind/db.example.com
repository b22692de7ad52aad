$TTL 60000
@		IN	SOA	dnsexample.example.com. root.dnsexample.example.com. (
			2024120701 28800 14400 3600000 0 )
@		IN	NS	dnsexample.example.com.
dnsexample	IN	A	10.0.0.7
www		IN	A	10.0.0.80
client		IN	A	10.0.0.100
