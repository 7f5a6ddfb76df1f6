import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
# Only web servers import this module: their database sessions get the web limits
# (statement timeout, parallel workers per query) that the task worker must not have.
os.environ.setdefault("LAUREL_PROCESS", "web")
application = get_wsgi_application()
