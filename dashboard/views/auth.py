"""Sign in and out: Django's views with the dashboard's templates and the throttled form."""

from django.contrib.auth import views as auth_views

from dashboard.forms import ThrottledAuthenticationForm

login = auth_views.LoginView.as_view(
    template_name="dashboard/auth/login.html",
    authentication_form=ThrottledAuthenticationForm,
    redirect_authenticated_user=True,
)
logout = auth_views.LogoutView.as_view()
