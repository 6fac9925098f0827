/*
 * jv.h: a fast, strict, read-only JSON reader for webhook payloads. One
 * pass validates the whole document (RFC 8259 grammar, UTF-8, escapes,
 * nesting depth, duplicate keys) and lays its values out in one array, so
 * that reading a field costs no allocation. Every function accepts NULL and
 * answers as for a missing value.
 */
#ifndef JV_H
#define JV_H

#include <stddef.h>

enum jv_type {
	JV_NULL,
	JV_FALSE,
	JV_TRUE,
	JV_NUMBER,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT
};

struct jv;

#define JV_MAX_DEPTH	512

struct jv	*jv_parse(const char *, size_t, char **);
void		 jv_free(const struct jv *);
enum jv_type	 jv_type(const struct jv *);
int		 jv_is_object(const struct jv *);
int		 jv_is_array(const struct jv *);
int		 jv_is_null(const struct jv *);
const struct jv	*jv_get(const struct jv *, const char *);
const struct jv	*jv_at(const struct jv *, size_t);
size_t		 jv_size(const struct jv *);
const char	*jv_str(const struct jv *);
long long	 jv_int(const struct jv *);
int		 jv_bool(const struct jv *);

#endif
