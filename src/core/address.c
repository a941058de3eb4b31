/*
 * Postal addresses (core/address.h): the check of a billing address (the
 * members, their texts, the country's code), its canonical JSON, and its
 * C form.
 */
#include <string.h>

#include <cJSON.h>

#include "core/address.h"
#include "core/alloc.h"
#include "core/json_exact.h"
#include "core/validate.h"

const char *const billing__address_keys[BILLING__ADDRESS_PARTS] = {
	"line1", "line2", "city", "postalCode", "region", "country"
};

/* The names of their errors (static strings, as field errors need). */
static const char *const address_fields[BILLING__ADDRESS_PARTS] = {
	"address.line1", "address.line2", "address.city", "address.postalCode",
	"address.region", "address.country"
};

/* ISO 3166-1 alpha-2: the 249 officially assigned codes. */
static const char countries[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP "
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
	"QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ "
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/* code (any case) upper-cased in place when it is an assigned code. */
static bool country_ok(char *code)
{
	size_t i;
	if (strlen(code) != 2)
		return false;
	for (i = 0; i < 2; i++)
		if (code[i] >= 'a' && code[i] <= 'z')
			code[i] = (char)(code[i] - 'a' + 'A');
	/* Codes 3 characters apart; the last one ends the text. */
	for (i = 0; i + 2 <= sizeof(countries) - 1; i += 3)
		if (countries[i] == code[0] && countries[i + 1] == code[1])
			return true;
	return false;
}

int billing__address_check(billing__checks *ck, char *out, size_t size, const char *text,
	bool *none)
{
	cJSON *in = billing__jx_parse(text, strlen(text), NULL), *e, *canon = NULL;
	char *parts[BILLING__ADDRESS_PARTS] = { NULL }, *printed = NULL;
	size_t i, before = ck->count;
	int rc = BILLING_OK;

	*none = true;
	/* The JSON layer and billing__address_encode handed an object. */
	if (!in)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	cJSON_ArrayForEach(e, in) {
		for (i = 0; i < BILLING__ADDRESS_PARTS; i++)
			if (strcmp(e->string, billing__address_keys[i]) == 0)
				break;
		if (i == BILLING__ADDRESS_PARTS)
			billing__check_fail(ck, "address", "%.40s is not a member of an address; "
				"line1, line2, city, postalCode, region, country", e->string);
		else if (!cJSON_IsString(e))
			billing__check_fail(ck, address_fields[i], "must be a string");
		else if ((rc = billing__check_text(ck, address_fields[i], e->valuestring, 0, 1, 200,
			&parts[i])) < 0)
			goto done;
	}
	if (parts[5] && !country_ok(parts[5]))
		billing__check_fail(ck, "address.country",
			"must be an ISO 3166-1 alpha-2 country code such as DE");
	if (ck->count > before)
		goto done;
	if ((canon = cJSON_CreateObject()) == NULL)
		goto nomem;
	for (i = 0; i < BILLING__ADDRESS_PARTS; i++) {
		if (!parts[i])
			continue;
		*none = false;
		if (!cJSON_AddStringToObject(canon, billing__address_keys[i], parts[i]))
			goto nomem;
	}
	if ((printed = billing__jx_print(canon)) == NULL)
		goto nomem;
	if (strlen(printed) >= size)
		rc = billing__error_field(BILLING_EINVALID, "invalid", "address",
			"the address is too long");
	else
		memcpy(out, printed, strlen(printed) + 1);
	goto done;
nomem:
	rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
done:
	for (i = 0; i < BILLING__ADDRESS_PARTS; i++)
		billing__free(parts[i]);
	cJSON_free(printed);
	cJSON_Delete(canon);
	cJSON_Delete(in);
	return rc;
}

int billing__address_encode(char **out, const billing_address *a)
{
	const char *parts[BILLING__ADDRESS_PARTS] = { a->line1, a->line2, a->city, a->postal_code,
		a->region, a->country };
	cJSON *obj = cJSON_CreateObject();
	char *printed;
	size_t i;

	for (i = 0; obj && i < BILLING__ADDRESS_PARTS; i++)
		if (parts[i] && !cJSON_AddStringToObject(obj, billing__address_keys[i], parts[i])) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	printed = obj ? billing__jx_print(obj) : NULL;
	*out = printed ? billing__strdup(printed) : NULL;
	cJSON_free(printed);
	cJSON_Delete(obj);
	if (!*out)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

int billing__address_decode(billing_address *a, char **text, const char *json)
{
	const char **part[BILLING__ADDRESS_PARTS] = { &a->line1, &a->line2, &a->city,
		&a->postal_code, &a->region, &a->country };
	cJSON *obj, *v;
	size_t i, at = 0;

	memset(a, 0, sizeof(*a));
	*text = NULL;
	if (!json)
		return BILLING_OK;
	if ((*text = billing__malloc(strlen(json) + 1)) == NULL ||
	    (obj = cJSON_Parse(json)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < BILLING__ADDRESS_PARTS; i++) {
		v = cJSON_GetObjectItemCaseSensitive(obj, billing__address_keys[i]);
		if (!cJSON_IsString(v))
			continue;
		/* A part's text is never longer than its JSON. */
		*part[i] = strcpy(*text + at, v->valuestring);
		at += strlen(v->valuestring) + 1;
	}
	cJSON_Delete(obj);
	return BILLING_OK;
}
