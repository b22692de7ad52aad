// SPDX-License-Identifier: LGPL-2.1-or-later
/* The profiles of the Debian image by name, and the lab image names that stand for them. */
#include <string.h>

#include "image-internal.h"
#include "umlkit/image.h"

const struct uk_profile *uk_profile_find(const char *name)
{
	for (size_t i = 0; name && i < uk_profiles_n; i++)
		if (!strcmp(uk_profiles[i].name, name))
			return &uk_profiles[i];
	return NULL;
}

/* name, without a docker.io/ registry in front and a :TAG after, equals image */
static bool same_image(const char *name, const char *image)
{
	size_t len = strlen(image);

	if (!strncmp(name, "docker.io/", 10))
		name += 10;
	return !strncmp(name, image, len) && (!name[len] || (name[len] == ':' && name[len + 1]));
}

const char *uk_image_profile_for(const char *image_option)
{
	if (!image_option)
		return NULL;
	for (size_t i = 0; i < uk_profiles_n; i++) {
		const struct uk_profile *p = &uk_profiles[i];

		if (!strcmp(image_option, p->name))
			return p->name;
		for (const char *const *n = p->images; *n; n++)
			if (same_image(image_option, *n))
				return p->name;
	}
	return NULL;
}
