/*
 * Evaluation of a request under a policy: fee caps, then the rules in
 * order (the first match decides, no match blocks), then the amounts each
 * limit is to reserve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txpolicy/txpolicy_internal.h"

static int
address_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 20);
}

static bool
listed(const txp_rule *r, const uint8_t addr[20])
{
	return bsearch(addr, r->dests, r->ndests, 20, address_cmp) != NULL;
}

static bool
string_listed(const txp_strings *s, const char *v)
{
	for (size_t i = 0; v != NULL && i < s->n; i++) {
		if (strcmp(s->v[i], v) == 0)
			return true;
	}
	return false;
}

static bool
initiator_matches(const txp_rule *r, const zg_txrequest *req)
{
	if (req->initiator_type == ZG_TXINITIATOR_USER &&
	    string_listed(&r->users, req->initiator_id))
		return true;
	if (req->initiator_type == ZG_TXINITIATOR_SERVICE_ACCOUNT &&
	    string_listed(&r->service_accounts, req->initiator_id))
		return true;
	for (size_t i = 0; i < req->nroles; i++) {
		if (string_listed(&r->roles, req->roles[i]))
			return true;
	}
	return false;
}

static bool
destination_matches(const txp_rule *r, const zg_txfacts *f)
{
	switch (r->dest_mode) {
	case TXP_DEST_ALLOW:
		return f->has_destination && listed(r, f->destination);
	case TXP_DEST_DENY:
		/* A listed contract excludes the call, whatever the recipient. */
		if (f->has_destination && listed(r, f->destination))
			return false;
		return !(f->has_to && listed(r, f->to));
	default:
		return true;
	}
}

static bool
selector_matches(const txp_rule *r, const zg_txfacts *f)
{
	if (r->nselectors == 0)
		return true;
	if (!f->has_selector)
		return false;
	uint32_t sel = (uint32_t)f->selector[0] << 24 |
	    (uint32_t)f->selector[1] << 16 | (uint32_t)f->selector[2] << 8 |
	    f->selector[3];
	for (size_t i = 0; i < r->nselectors; i++) {
		if (r->selectors[i] == sel)
			return true;
	}
	return false;
}

static bool
value_matches(const txp_rule *r, const zg_txfacts *f)
{
	if (!r->has_min && !r->has_max && !r->has_asset)
		return true;
	if (!f->has_amount)
		return false;
	if (r->has_min && zg_u256_cmp(&f->amount, &r->min) < 0)
		return false;
	if (r->has_max && zg_u256_cmp(&f->amount, &r->max) > 0)
		return false;
	if (r->has_asset && r->asset_native != f->asset_native)
		return false;
	return !r->has_asset || r->asset_native ||
	    memcmp(r->asset, f->asset, 20) == 0;
}

static bool
rule_matches(const txp_rule *r, const zg_txrequest *req)
{
	const zg_txfacts *f = &req->facts;
	if (r->kinds != 0 && (r->kinds & 1u << f->kind) == 0)
		return false;
	if (r->nchain_ids > 0) {
		size_t i = 0;
		while (f->has_chain_id && i < r->nchain_ids &&
		    zg_u256_cmp(&r->chain_ids[i], &f->chain_id) != 0)
			i++;
		if (!f->has_chain_id || i == r->nchain_ids)
			return false;
	}
	if (r->has_initiators && !initiator_matches(r, req))
		return false;
	if (r->keys.present && !txp_keys_match(&r->keys, req->key_id,
	    req->key_label))
		return false;
	return destination_matches(r, f) && selector_matches(r, f) &&
	    value_matches(r, f);
}

/* Sets d to block with a reason if the fees exceed the chain's caps. */
static bool
fees_exceed_cap(const zg_txpolicy *p, const zg_txfacts *f, zg_txdecision *d)
{
	char have[ZG_U256_DEC_LEN], cap[ZG_U256_DEC_LEN];
	char chain[ZG_U256_DEC_LEN];
	if (!f->has_fees)
		return false;
	for (size_t i = 0; i < p->nfee_caps; i++) {
		const txp_fee_cap *c = &p->fee_caps[i];
		if (zg_u256_cmp(&c->chain_id, &f->chain_id) != 0)
			continue;
		zg_u256_to_dec(&c->chain_id, chain);
		if (c->has_max_fee &&
		    zg_u256_cmp(&f->fee_cap, &c->max_fee_per_gas) > 0) {
			zg_u256_to_dec(&f->fee_cap, have);
			zg_u256_to_dec(&c->max_fee_per_gas, cap);
			snprintf(d->reason, sizeof(d->reason), "the fee per gas "
			    "%s wei exceeds policy %s's maxFeePerGas of %s wei "
			    "for chain %s", have, p->name, cap, chain);
			return true;
		}
		if (c->has_max_gas && zg_u256_cmp(&f->gas, &c->max_gas) > 0) {
			zg_u256_to_dec(&f->gas, have);
			zg_u256_to_dec(&c->max_gas, cap);
			snprintf(d->reason, sizeof(d->reason), "the gas limit %s "
			    "exceeds policy %s's maxGas of %s for chain %s",
			    have, p->name, cap, chain);
			return true;
		}
		return false;
	}
	return false;
}

/* Returns the amount limit l is charged for f, which may be zero. */
static zg_u256
charge_amount(const txp_limit *l, const zg_txfacts *f)
{
	zg_u256 zero;
	zg_u256_from_u64(&zero, 0);
	if (l->asset_native)
		return f->native_value;
	if (f->has_amount && !f->asset_native &&
	    memcmp(l->asset, f->asset, 20) == 0)
		return f->amount;
	return zero;
}

static void
scope_value(const txp_limit *l, const zg_txrequest *req,
    char out[ZG_TXLIMIT_SCOPE_MAX])
{
	const char *v = NULL;
	switch (l->scope) {
	case TXP_SCOPE_KEY:
		v = req->key_id;
		break;
	case TXP_SCOPE_INITIATOR:
		v = req->initiator_id;
		break;
	case TXP_SCOPE_DESTINATION:
		if (req->facts.has_destination) {
			txp_address_format(req->facts.destination, out);
			return;
		}
		break;
	default:
		v = req->workflow_id;
		break;
	}
	/* NOTE: a value longer than ZG_TXLIMIT_SCOPE_MAX - 1 bytes is cut,
	 * so two such values sharing that prefix share one usage record. */
	snprintf(out, ZG_TXLIMIT_SCOPE_MAX, "%s", v != NULL && v[0] != '\0' ?
	    v : "none");
}

static zg_err
collect_charges(const zg_txpolicy *p, const zg_txrequest *req,
    zg_txdecision *d)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nlimits; i++) {
		zg_u256 a = charge_amount(&p->limits[i], &req->facts);
		if (!zg_u256_is_zero(&a))
			n++;
	}
	if (n == 0)
		return ZG_OK;
	if ((d->charges = calloc(n, sizeof(*d->charges))) == NULL)
		return ZG_ERR_NOMEM;
	for (size_t i = 0; i < p->nlimits; i++) {
		zg_u256 a = charge_amount(&p->limits[i], &req->facts);
		if (zg_u256_is_zero(&a))
			continue;
		zg_txlimit_charge *c = &d->charges[d->ncharges++];
		c->limit = i;
		c->amount = a;
		scope_value(&p->limits[i], req, c->scope_value);
	}
	return ZG_OK;
}

zg_err
zg_txpolicy_evaluate(const zg_txpolicy *p, const zg_txrequest *req,
    zg_txdecision *d)
{
	memset(d, 0, sizeof(*d));
	d->action = ZG_TXACTION_BLOCK;
	if (fees_exceed_cap(p, &req->facts, d))
		return ZG_OK;

	const txp_rule *r = NULL;
	for (size_t i = 0; i < p->nrules && r == NULL; i++) {
		if (rule_matches(&p->rules[i], req))
			r = &p->rules[i];
	}
	if (r == NULL) {
		snprintf(d->reason, sizeof(d->reason), "no rule of policy %s "
		    "matches this request (kind %s), so it is blocked",
		    p->name, zg_txkind_name(req->facts.kind));
		return ZG_OK;
	}

	d->action = r->action;
	d->rule = r->name;
	d->simulate = r->simulate;
	d->allow_without_simulation = r->allow_without_simulation;
	switch (r->action) {
	case ZG_TXACTION_ALLOW:
		snprintf(d->reason, sizeof(d->reason), "rule %s of policy %s "
		    "allows this request (kind %s)", r->name, p->name,
		    zg_txkind_name(req->facts.kind));
		break;
	case ZG_TXACTION_REQUIRE_APPROVAL:
		d->approval = r->approval;
		snprintf(d->reason, sizeof(d->reason), "rule %s of policy %s "
		    "requires %u approvals from role %s", r->name, p->name,
		    r->approval.count, r->approval.from_role);
		break;
	default:
		snprintf(d->reason, sizeof(d->reason), "rule %s of policy %s "
		    "blocks this request (kind %s)", r->name, p->name,
		    zg_txkind_name(req->facts.kind));
		return ZG_OK;
	}
	return collect_charges(p, req, d);
}

void
zg_txdecision_free(zg_txdecision *d)
{
	free(d->charges);
	d->charges = NULL;
	d->ncharges = 0;
}
