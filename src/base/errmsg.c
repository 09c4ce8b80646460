#include "base/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

zg_err
zg_fail(zg_errmsg *em, zg_err code, const char *fmt, ...)
{
	if (em == NULL)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(em->text, sizeof(em->text), fmt, ap);
	va_end(ap);
	em->code = code;
	return code;
}

void
zg_quote_value(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	size_t shown = 0;
	if (outsz == 0)
		return;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char tmp[5];
		size_t n;
		if (shown == 48) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n + 1 > outsz)
			break;
		memcpy(out + o, tmp, n);
		o += n;
		shown++;
	}
	out[o] = '\0';
}
