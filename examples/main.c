/* Prints the version line of the libcurl it runs with: the example program
 * of rules_apk, built against the build lockfile's libcurl and run on the
 * runtime lockfile's. */
#include <stdio.h>
#include <curl/curl.h>

int main(void) {
	curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	printf("%s\n", curl_version());
	printf("libcurl %s, ssl %s, zlib %s\n", info->version,
	       info->ssl_version ? info->ssl_version : "none",
	       info->libz_version ? info->libz_version : "none");
	return 0;
}
