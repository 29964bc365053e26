/* store/s3's pure parts: SHA-256 (FIPS 180-4 vectors), s3:// URLs, the credentials file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rb/store/s3.h"
#include "testutil.h"

static void sha(const char *in, size_t len, const char *want)
{
	char hex[65];
	s3_sha256_hex(in, len, hex);
	CHECKF(strcmp(hex, want) == 0, "sha256 of %zu bytes: %s", len, hex);
}

static int creds(const char *text, struct s3_conf *c, struct rb_err *err)
{
	char path[] = "/tmp/rb-s3-creds-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	memset(c, 0, sizeof *c);
	int rc = s3_credentials_load(path, c, err);
	unlink(path);
	return rc;
}

int main(void)
{
	sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *mil = malloc(1000000);
	CHECK(mil != NULL);
	memset(mil, 'a', 1000000);
	sha(mil, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(mil);
	/* 55, 63 and 64 bytes: the padding's edges */
	sha("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55,
	    "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	sha("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
	    "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");

	char b[256], p[512];
	struct rb_err err = {0};
	CHECK(s3_url_parse("s3://models/rbaioutliers/latest", b, sizeof b, p, sizeof p, &err) == RB_OK);
	CHECK(strcmp(b, "models") == 0 && strcmp(p, "rbaioutliers/latest/") == 0);
	CHECK(s3_url_parse("s3://models/x/", b, sizeof b, p, sizeof p, &err) == RB_OK);
	CHECK(strcmp(p, "x/") == 0);
	CHECK(s3_url_parse("s3://models", b, sizeof b, p, sizeof p, &err) == RB_OK);
	CHECK(strcmp(b, "models") == 0 && p[0] == '\0');
	CHECK(s3_url_parse("http://models/x", b, sizeof b, p, sizeof p, &err) == RB_E_CONFIG);
	CHECK(s3_url_parse("s3://Models/x", b, sizeof b, p, sizeof p, &err) == RB_E_CONFIG);
	CHECK(s3_url_parse("s3://ab/x", b, sizeof b, p, sizeof p, &err) == RB_E_CONFIG);
	CHECK(s3_url_parse("s3://models/a b", b, sizeof b, p, sizeof p, &err) == RB_E_CONFIG);

	struct s3_conf c;
	CHECK(creds("# ours\naccess_key_id = AK\nsecret_access_key = s/e+c=\n", &c, &err) == RB_OK);
	CHECK(strcmp(c.access_key, "AK") == 0 && strcmp(c.secret_key, "s/e+c=") == 0);
	CHECK(creds("[default]\r\naws_access_key_id=AK2\r\naws_secret_access_key = S2 \r\n", &c,
	            &err) == RB_OK);
	CHECK(strcmp(c.access_key, "AK2") == 0 && strcmp(c.secret_key, "S2") == 0);
	CHECK(creds("access_key_id = AK\n", &c, &err) == RB_E_CONFIG);
	CHECK(strstr(err.msg, "secret_access_key") != NULL);
	CHECK(creds("access_key_id = A:K\nsecret_access_key = x\n", &c, &err) == RB_E_CONFIG);
	CHECK(s3_credentials_load("/nonexistent/creds", &c, &err) == RB_E_CONFIG);
	return 0;
}
