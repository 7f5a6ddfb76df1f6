from django.shortcuts import render

from laurel.catalog.models import Course
from laurel.web.tenancy import ANY_MEMBER, org_required


@org_required(*ANY_MEMBER)
def course_list(request):
    courses = Course.objects.for_org(request.org).prefetch_related("components__credit_type")
    return render(request, "catalog/course_list.html", {"courses": courses})
