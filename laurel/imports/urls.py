app_name = __name__.split(".")[1]
urlpatterns: list = []
