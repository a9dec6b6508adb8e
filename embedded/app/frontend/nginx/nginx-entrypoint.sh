#!/bin/sh
# Entry point of the nginx runtime stage: writes a complete nginx.conf with
# BACKEND_URL (read now, at container start, never baked into the image)
# to /tmp and runs nginx in the foreground from it.
set -eu

template=/etc/todo-dev/nginx.conf.template
conf=/tmp/nginx.conf
backend=${BACKEND_URL:-http://backend:8000}
backend=${backend%/}

fail() {
    echo "nginx-entrypoint: BACKEND_URL=$backend: $1" >&2
    exit 64
}

case $backend in
http://?* | https://?*) ;;
*) fail "must start with http:// or https://, e.g. http://backend:8000" ;;
esac
# only what a scheme://host:port needs: nothing that could end the nginx
# directive or the sed expression below
case $backend in
*[!A-Za-z0-9.:/_-]*) fail "only letters, digits and . : / _ - are allowed" ;;
esac
# a path would make nginx replace /api/ in the request instead of passing it on
case ${backend#*://} in
*/*) fail "give scheme://host[:port] without a path" ;;
esac

sed "s|@BACKEND_URL@|$backend|g" "$template" >"$conf.tmp"
mv "$conf.tmp" "$conf"
echo "nginx-entrypoint: serving /srv/www on :8080, /api/ -> $backend" >&2
exec nginx -e stderr -c "$conf" -g 'daemon off;'
