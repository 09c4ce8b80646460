/*
 * Leveled logfmt logging to stderr.
 *
 * Each call writes one line with one write(2), so lines from concurrent
 * threads never interleave:
 *
 *   time=2026-12-04T20:22:23.123456Z level=info msg="request done" status=200
 *
 * Fields are typed so that the logger, not the caller, quotes and escapes
 * values. Warnings and errors also carry func= and are rate-limited per call
 * site (at most ZG_LOG_BURST lines a second; the next line that passes
 * reports how many were suppressed). Never pass a secret as a field.
 */
#ifndef ZG_BASE_LOG_H
#define ZG_BASE_LOG_H

#include <stdatomic.h>

enum zg_log_level {
	ZG_LOG_DEBUG = 0,
	ZG_LOG_INFO,
	ZG_LOG_WARN,
	ZG_LOG_ERROR,
};

enum zg_logf_kind {
	ZG_LOGF_END = 0,
	ZG_LOGF_STR,
	ZG_LOGF_INT,
	ZG_LOGF_DBL,
};

/* One key=value field of a log line. */
struct zg_logf {
	const char *key;
	enum zg_logf_kind kind;
	const char *s;
	long long i;
	double d;
};

/* Per-call-site state for rate limiting warnings and errors. */
struct zg_log_site {
	atomic_llong window_start;
	atomic_int lines_in_window;
	atomic_int suppressed;
};

#define ZG_LOG_BURST 10

#define ZGF_S(k, v) {.key = (k), .kind = ZG_LOGF_STR, .s = (v)}
#define ZGF_I(k, v) {.key = (k), .kind = ZG_LOGF_INT, .i = (long long)(v)}
#define ZGF_D(k, v) {.key = (k), .kind = ZG_LOGF_DBL, .d = (double)(v)}
#define ZGF_ERR(e) ZGF_S("error", zg_err_name(e))

#define zg_log_(level, site, msg, ...)                                       \
	zg_log_emit((level), (site), __func__, (msg),                        \
	    (const struct zg_logf[]){__VA_ARGS__ __VA_OPT__(,){0}})

#define zg_log_debug(msg, ...)                                               \
	do {                                                                 \
		if (zg_log_enabled(ZG_LOG_DEBUG))                            \
			zg_log_(ZG_LOG_DEBUG, NULL, msg, __VA_ARGS__);       \
	} while (0)
#define zg_log_info(msg, ...) zg_log_(ZG_LOG_INFO, NULL, msg, __VA_ARGS__)
#define zg_log_warn(msg, ...)                                                \
	do {                                                                 \
		static struct zg_log_site zg_site_;                          \
		zg_log_(ZG_LOG_WARN, &zg_site_, msg, __VA_ARGS__);           \
	} while (0)
#define zg_log_error(msg, ...)                                               \
	do {                                                                 \
		static struct zg_log_site zg_site_;                          \
		zg_log_(ZG_LOG_ERROR, &zg_site_, msg, __VA_ARGS__);          \
	} while (0)

/* Sets the lowest level that is written; the default is ZG_LOG_INFO. */
void zg_log_set_level(enum zg_log_level level);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int zg_log_parse_level(const char *name, enum zg_log_level *out);

int zg_log_enabled(enum zg_log_level level);

/* Redirects output to fd (the default is 2); tests use this. */
void zg_log_set_fd(int fd);

/*
 * Writes one line. fields ends with an entry whose kind is ZG_LOGF_END.
 * site may be NULL for no rate limiting. Use the macros above instead.
 */
void zg_log_emit(enum zg_log_level level, struct zg_log_site *site,
    const char *func, const char *msg, const struct zg_logf *fields);

#endif
