/* headers.h: an HTTP header list with case-insensitive lookup. */
#ifndef HEADERS_H
#define HEADERS_H

#include <stddef.h>

struct header {
	char	*name;
	char	*value;
};

struct headers {
	struct header	*v;
	size_t		 n;
	size_t		 cap;
};

void		 headers_init(struct headers *);
void		 headers_add(struct headers *, const char *, size_t,
		     const char *, size_t);
int		 headers_add_line(struct headers *, const char *);
const char	*headers_get(const struct headers *, const char *);
void		 headers_clear(struct headers *);

#endif
