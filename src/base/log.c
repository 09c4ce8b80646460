#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"

static atomic_int log_level = ZG_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
zg_log_set_level(enum zg_log_level level)
{
	atomic_store(&log_level, (int)level);
}

int
zg_log_parse_level(const char *name, enum zg_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum zg_log_level)i;
			return 0;
		}
	}
	return -1;
}

int
zg_log_enabled(enum zg_log_level level)
{
	return (int)level >= atomic_load(&log_level);
}

void
zg_log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

/* A bounded line builder that silently truncates; a log line is best effort. */
struct line {
	char buf[2048];
	size_t len;
};

static void
line_raw(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
line_str(struct line *l, const char *s)
{
	line_raw(l, s, strlen(s));
}

static void
line_int(struct line *l, long long i)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", i);
	if (n > 0)
		line_raw(l, tmp, (size_t)n);
}

static void
line_double(struct line *l, double d)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%.3f", d);
	if (n > 0)
		line_raw(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Writes s bare if it is a plain token, else quoted with \" \\ \n escaped. */
static void
line_value(struct line *l, const char *s)
{
	if (s == NULL) {
		line_str(l, "\"\"");
		return;
	}
	int plain = s[0] != '\0';
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) {
			plain = 0;
			break;
		}
	}
	if (plain) {
		line_str(l, s);
		return;
	}
	line_raw(l, "\"", 1);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			line_raw(l, esc, 2);
		} else if (c == '\n') {
			line_raw(l, "\\n", 2);
		} else if (c < ' ' || c == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			line_str(l, esc);
		} else {
			line_raw(l, (const char *)p, 1);
		}
	}
	line_raw(l, "\"", 1);
}

/* Returns 1 if the line may be written, and how many were suppressed before. */
static int
site_admit(struct zg_log_site *site, int *suppressed)
{
	*suppressed = 0;
	if (site == NULL)
		return 1;
	long long now = (long long)time(NULL);
	long long start = atomic_load(&site->window_start);
	if (now != start &&
	    atomic_compare_exchange_strong(&site->window_start, &start, now)) {
		atomic_store(&site->lines_in_window, 0);
		*suppressed = atomic_exchange(&site->suppressed, 0);
	}
	if (atomic_fetch_add(&site->lines_in_window, 1) >= ZG_LOG_BURST) {
		atomic_fetch_add(&site->suppressed, 1);
		return 0;
	}
	return 1;
}

void
zg_log_emit(enum zg_log_level level, struct zg_log_site *site,
    const char *func, const char *msg, const struct zg_logf *fields)
{
	if (!zg_log_enabled(level))
		return;
	int suppressed;
	if (!site_admit(site, &suppressed))
		return;

	struct line l = {.len = 0};
	char ts[40];
	zg_time_format_rfc3339_us(zg_time_now_us(), ts, sizeof(ts));
	line_str(&l, "time=");
	line_str(&l, ts);
	line_str(&l, " level=");
	line_str(&l, level_names[level]);
	line_str(&l, " msg=");
	line_value(&l, msg);
	if (level >= ZG_LOG_WARN && func != NULL) {
		line_str(&l, " func=");
		line_str(&l, func);
	}
	for (const struct zg_logf *f = fields; f && f->kind != ZG_LOGF_END; f++) {
		line_raw(&l, " ", 1);
		line_str(&l, f->key);
		line_raw(&l, "=", 1);
		switch (f->kind) {
		case ZG_LOGF_STR:
			line_value(&l, f->s);
			break;
		case ZG_LOGF_INT:
			line_int(&l, f->i);
			break;
		case ZG_LOGF_DBL:
			line_double(&l, f->d);
			break;
		default:
			break;
		}
	}
	if (suppressed > 0) {
		line_str(&l, " suppressed=");
		line_int(&l, suppressed);
	}
	l.buf[l.len++] = '\n';

	int fd = atomic_load(&log_fd);
	const char *p = l.buf;
	size_t left = l.len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}
