from django import forms

PLANS = [("starter", "Starter"), ("pro", "Pro"), ("enterprise", "Enterprise")]
TEAM_SIZES = [("", "Choose…"), ("1-10", "1–10"), ("11-50", "11–50"), ("51-200", "51–200"), ("201+", "201+")]


class SignupForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = forms.EmailField(max_length=200)
    password = forms.CharField(min_length=8, max_length=200, widget=forms.PasswordInput)
    team_size = forms.ChoiceField(choices=TEAM_SIZES)
    plan = forms.ChoiceField(choices=PLANS, initial="pro")
    terms = forms.BooleanField(error_messages={"required": "Please accept the terms to continue."})


class NewsletterForm(forms.Form):
    newsletter_email = forms.EmailField(max_length=200)


class LoginForm(forms.Form):
    email = forms.EmailField(max_length=200)
    password = forms.CharField(max_length=200, widget=forms.PasswordInput)
