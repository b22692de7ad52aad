$TTL 60000
@		IN	SOA	dnscom.com. root.dnscom.com. (
			2024120701 28800 14400 3600000 0 )
@		IN	NS	dnscom.com.
dnscom.com.	IN	A	10.0.0.6

; example.com is delegated to dnsexample
example.com.		IN	NS	dnsexample.example.com.
dnsexample.example.com.	IN	A	10.0.0.7
