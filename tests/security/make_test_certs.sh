#!/bin/sh
# Makes a throw-away PKI for the security tests (and the README's walk-through) with
# Debian's openssl command, into DIR:
#   ca.pem ca.key                  the CA that server and clients trust
#   server.pem server.key          server cert for 127.0.0.1 / localhost, signed by ca
#   client.pem client.key          client cert (CN=client-a), signed by ca
#   other_ca.pem                   a second, unrelated CA
#   other_server.pem other_server.key  server cert for 127.0.0.1 / localhost from other_ca
#   other_client.pem other_client.key  client cert (CN=intruder) from other_ca
#   expired.pem expired.key        server cert from ca that expired in 2020
# Usage: make_test_certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "make_test_certs.sh: failed: $*" >&2; "$@"; exit 1; }; }

ca() {  # name subject
  quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 30 -subj "$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() {  # name subject ca usage(server|client)
  quiet openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
  if [ "$4" = server ]; then
    # clientAuth too: `explainer-server --health_check` presents it under mTLS.
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' >"$1.ext"
  else
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' "${2##*=}" >"$1.ext"
  fi
  quiet openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
    -out "$1.pem" -days 30 -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=Explainer Test CA"
ca other_ca "/CN=Other Test CA"
leaf server "/CN=explainer-server" ca server
leaf client "/CN=client-a" ca client
leaf other_server "/CN=explainer-server" other_ca server
leaf other_client "/CN=intruder" other_ca client

# An expired certificate: `openssl ca` takes explicit start and end dates.
mkdir -p expired_ca
: >expired_ca/index.txt
echo 01 >expired_ca/serial
cat >expired_ca/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = expired_ca/index.txt
serial = expired_ca/serial
new_certs_dir = expired_ca
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CNF
quiet openssl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr \
  -subj "/CN=expired-server" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
quiet openssl ca -batch -config expired_ca/ca.cnf -cert ca.pem -keyfile ca.key \
  -in expired.csr -out expired.pem -startdate 20200101000000Z -enddate 20200102000000Z -notext
rm -rf expired.csr expired_ca
chmod 600 ./*.key
