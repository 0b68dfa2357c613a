"""A file server on 127.0.0.1 that answers 401 without the right basic auth.

Test infrastructure for e2e/bazel_tests.sh, which checks that the apk
extension's downloads take their credentials from $NETRC.

Usage: python3 e2e/netrc_server.py PORT DIR LOGIN PASSWORD
"""

import base64
import functools
import http.server
import sys


def main():
    port, root, login, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    want = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="rules_apk test"')
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, fmt, *args):
            sys.stderr.write("netrc_server: %s %s\n" % (self.headers.get("Authorization") is not None, fmt % args))

    handler = functools.partial(Handler, directory=root)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
