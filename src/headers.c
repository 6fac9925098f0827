/*
 * HTTP header lists. Names compare case-insensitively because HTTP/2 and
 * many proxies lower-case them. The list owns copies of names and values.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"
#include "xmalloc.h"

void
headers_init(struct headers *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

/* Append a header; leading and trailing blanks of the value are dropped. */
void
headers_add(struct headers *h, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	while (valuelen > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		valuelen--;
	}
	while (valuelen > 0 && (value[valuelen - 1] == ' ' ||
	    value[valuelen - 1] == '\t'))
		valuelen--;
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 16 : h->cap * 2;
		h->v = xreallocarray(h->v, h->cap, sizeof *h->v);
	}
	h->v[h->n].name = xstrndup(name, namelen);
	h->v[h->n].value = xstrndup(value, valuelen);
	h->n++;
}

/* Append a "Name: value" line, as given to -H. Returns 0 or -1. */
int
headers_add_line(struct headers *h, const char *line)
{
	const char	*colon;

	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return (-1);
	headers_add(h, line, (size_t)(colon - line), colon + 1,
	    strlen(colon + 1));
	return (0);
}

/* First value of a header, or NULL. Borrowed from the list. */
const char *
headers_get(const struct headers *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name) == 0)
			return (h->v[i].value);
	}
	return (NULL);
}

void
headers_clear(struct headers *h)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	headers_init(h);
}
