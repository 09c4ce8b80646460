/* SIEM forwarding. NOTE: a placeholder until the forwarder is written. */
#include "audit/audit_internal.h"

zg_err
zg_forwarder_start(zg_audit *a, struct zg_forwarder **out, zg_errmsg *em)
{
	*out = NULL;
	return ZG_OK;
}

void
zg_forwarder_notify(struct zg_forwarder *f)
{
}

void
zg_forwarder_stop(struct zg_forwarder *f)
{
}
