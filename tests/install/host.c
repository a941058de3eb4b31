/* A host program outside the tree: links the installed libbilling. */
#include <stdio.h>
#include <string.h>

#include <billing/billing.h>

int main(int argc, char **argv)
{
	char url[512], *out = NULL;
	billing_ctx *ctx = NULL;
	billing_principal op = { NULL, "host", BILLING_ROLE_PLATFORM };
	const char *in = "{\"name\":\"Installed\"}";
	int rc;

	if (argc < 2 || billing_version() != BILLING_VERSION_NUMBER)
		return 2;
	snprintf(url, sizeof(url), "sqlite:%s", argv[1]);
	if (billing_ctx_open_url(&ctx, url, NULL) < 0 || billing_migrate(ctx) < 0) {
		fprintf(stderr, "%s\n", billing_error_last()->message);
		return 1;
	}
	rc = billing_call_json(&out, ctx, &op, "tenants.create", in, strlen(in), NULL);
	printf("%s\n", out ? out : "(null)");
	billing_free(out);
	billing_ctx_close(ctx);
	return rc == BILLING_OK ? 0 : 1;
}
